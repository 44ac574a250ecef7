package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseSource parses arbitrary policy documents and checks what the policy store and
// `escalated policy check` rely on: Parse never panics; it is deterministic (the same document
// gives the same errors, or the same policy); a valid policy keeps its document byte for byte
// in Source, its Hash is the SHA-256 of Source whatever the file name, and re-parsing its own
// Source gives the same Hash, Summary and lint warnings; every error and warning is rendered
// with a position inside the document. Seeds: testdata/*.yaml, the demo policy and the API
// tests' policy, whole and cut.
func FuzzParseSource(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	files = append(files, "../demo/policy.yaml", "../app/testdata/policy.yaml")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
		f.Add(src[:len(src)*2/3])
		f.Add(bytes.ReplaceAll(src, []byte("\n"), []byte("\r\n")))
	}
	f.Add([]byte("\ufeff" + base))
	f.Add([]byte(base + "---\n" + base))
	f.Fuzz(func(t *testing.T, src []byte) {
		lines := bytes.Count(src, []byte("\n")) + bytes.Count(src, []byte("\r")) + 2
		pol, err := Parse("a.yaml", src)
		pol2, err2 := Parse("a.yaml", src)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("two parses differ: %v / %v", err, err2)
		}
		if err != nil {
			list, ok := err.(*ErrorList)
			if !ok || len(*list) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			for _, e := range *list {
				if e.Line < 1 || e.Line > lines || e.Column < 1 || e.Msg == "" || e.Error() == "" {
					t.Fatalf("error outside the document (%d lines): %#v", lines, e)
				}
			}
			return
		}
		sum := sha256.Sum256(src)
		if !bytes.Equal(pol.Source, src) || pol.Hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("Source/Hash do not match the document: hash %s", pol.Hash)
		}
		if pol.Hash != pol2.Hash || pol.Summary() != pol2.Summary() {
			t.Fatal("two parses of one document give different policies")
		}
		again, err := Parse("b.yaml", pol.Source)
		if err != nil {
			t.Fatalf("a valid policy's own Source does not parse: %v", err)
		}
		if again.Hash != pol.Hash || again.Summary() != pol.Summary() {
			t.Fatalf("re-parse: hash %s summary %q, was %s %q", again.Hash, again.Summary(), pol.Hash, pol.Summary())
		}
		if len(again.Warnings) != len(pol.Warnings) {
			t.Fatalf("re-parse: %d warnings, was %d", len(again.Warnings), len(pol.Warnings))
		}
		for i, w := range pol.Warnings {
			a := again.Warnings[i]
			if w.Line < 1 || w.Line > lines || w.Column < 1 || w.Msg == "" {
				t.Fatalf("warning outside the document: %#v", w)
			}
			if a.Line != w.Line || a.Column != w.Column || a.Msg != w.Msg {
				t.Fatalf("re-parse: warning %#v, was %#v", a, w)
			}
		}
		if !reflect.DeepEqual(pol.ChannelIDs, again.ChannelIDs) || len(pol.Rules) != len(again.Rules) {
			t.Fatal("re-parse: different channels or rules")
		}
	})
}
