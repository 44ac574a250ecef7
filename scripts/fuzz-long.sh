#!/usr/bin/env bash
# Long local fuzzing runs (issue E9): every native Go fuzz target of the module, one after the
# other, each for FUZZTIME (default 10m; any `go test -fuzztime` value: 60s, 2h, 500000x).
#
#   scripts/fuzz-long.sh            # every target, 10 minutes each
#   scripts/fuzz-long.sh 1h         # every target, one hour each
#   scripts/fuzz-long.sh 5m FuzzAPIJSONBody FuzzDecide   # only these targets
#
# A target that fails leaves its input under the package's testdata/fuzz/<Target>/, where the
# ordinary `go test` run replays it from then on: commit it with the fix. The last line of each
# target's output ("elapsed: ..., execs: N") is collected in $TMPDIR/fuzz-results.txt (or $FUZZ_RESULTS).
# The CI runs the same targets for a few seconds each (.ci/run).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
fuzztime="${1:-10m}"
shift || true
only=("$@")
results="${FUZZ_RESULTS:-${TMPDIR:-/tmp}/fuzz-results.txt}"
: >"$results"
status=0
# Every "func FuzzX(f *testing.F)" in a _test.go file, as "package-dir FuzzX".
while read -r dir target; do
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $target "* ]]; then
    continue
  fi
  echo "== $target ($dir, $fuzztime)"
  out=$(mktemp)
  # Minimising a new interesting input is not counted in execs and, for the API targets whose
  # server keeps state between inputs, can run for a minute by default; a few seconds is enough.
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "./$dir" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  last=$(grep 'execs:' "$out" | tail -1)
  echo "$target ./$dir rc=$rc $last" >>"$results"
  rm -f "$out"
  [ "$rc" -eq 0 ] || status=1
done < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
  sed -E 's#^\./(.*)/[^/]+\.go:func (Fuzz[A-Za-z0-9_]+).*#\1 \2#' | sort)
echo "== results ($results)"
cat "$results"
exit $status
