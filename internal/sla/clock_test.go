package sla

import (
	"encoding/json"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	c := cal(t, "Europe/Berlin", weekdays95)
	ts := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		return at(t, c, s)
	}
	// Friday 2026-03-06, Monday 2026-03-09 (no DST change or holiday in between).
	const (
		fri1600 = "2026-03-06 16:00"
		fri1630 = "2026-03-06 16:30"
	)
	start := func() Clock { return Start(c, FirstResponse, "gold", 2*time.Hour, 0.8, ts(fri1600)) }
	type want struct {
		state                          string
		elapsed                        time.Duration
		since, due, warnDue, stoppedAt string
		budget                         time.Duration
	}
	cases := []struct {
		name string
		run  func() Clock
		want want
	}{
		{"start friday 16:00, 2h, warn 0.8", start,
			want{Running, 0, fri1600, "2026-03-09 10:00", "2026-03-09 09:36", "", 2 * time.Hour}},
		{"no warning when warn_at is 0", func() Clock { return Start(c, Resolution, "p", 2*time.Hour, 0, ts(fri1600)) },
			want{Running, 0, fri1600, "2026-03-09 10:00", "", "", 2 * time.Hour}},
		{"pause friday 16:30", func() Clock { return start().Pause(c, ts(fri1630)) },
			want{Paused, 30 * time.Minute, "", "", "", "", 2 * time.Hour}},
		{"pause friday 16:30, resume monday 09:00", func() Clock {
			return start().Pause(c, ts(fri1630)).Resume(c, ts("2026-03-09 09:00"))
		}, want{Running, 30 * time.Minute, "2026-03-09 09:00", "2026-03-09 10:30", "2026-03-09 10:06", "", 2 * time.Hour}},
		{"resume in closed time counts from the next opening", func() Clock {
			return start().Pause(c, ts(fri1630)).Resume(c, ts("2026-03-07 12:00"))
		}, want{Running, 30 * time.Minute, "2026-03-07 12:00", "2026-03-09 10:30", "2026-03-09 10:06", "", 2 * time.Hour}},
		{"pause a warned clock, resume: warned again, no new warning", func() Clock {
			return start().Warn().Pause(c, ts("2026-03-09 09:40")).Resume(c, ts("2026-03-09 14:00"))
		}, want{Warned, 100 * time.Minute, "2026-03-09 14:00", "2026-03-09 14:20", "", "", 2 * time.Hour}},
		{"pause past the budget, resume: due at once", func() Clock {
			return start().Pause(c, ts("2026-03-09 10:10")).Resume(c, ts("2026-03-09 11:00"))
		}, want{Running, 130 * time.Minute, "2026-03-09 11:00", "2026-03-09 11:00", "", "", 2 * time.Hour}},
		{"pause past the warn point before the warning fired, resume: warns at once", func() Clock {
			return start().Pause(c, ts("2026-03-09 09:40")).Resume(c, ts("2026-03-09 14:00"))
		}, want{Running, 100 * time.Minute, "2026-03-09 14:00", "2026-03-09 14:20", "2026-03-09 14:00", "", 2 * time.Hour}},
		{"stop before due: met", func() Clock { return start().Stop(c, ts("2026-03-09 09:59")) },
			want{Met, 119 * time.Minute, "", "2026-03-09 10:00", "", "2026-03-09 09:59", 2 * time.Hour}},
		{"stop exactly at due: met", func() Clock { return start().Warn().Stop(c, ts("2026-03-09 10:00")) },
			want{Met, 2 * time.Hour, "", "2026-03-09 10:00", "", "2026-03-09 10:00", 2 * time.Hour}},
		{"stop after due before the engine breached: breached", func() Clock { return start().Stop(c, ts("2026-03-09 10:01")) },
			want{Breached, 121 * time.Minute, "", "2026-03-09 10:00", "", "2026-03-09 10:01", 2 * time.Hour}},
		{"breached keeps counting until stopped", func() Clock { return start().Warn().Breach().Stop(c, ts("2026-03-09 11:00")) },
			want{Breached, 3 * time.Hour, "", "2026-03-09 10:00", "", "2026-03-09 11:00", 2 * time.Hour}},
		{"breached clock paused stays breached, stops counting", func() Clock {
			return start().Breach().Pause(c, ts("2026-03-09 12:00"))
		}, want{Breached, 4 * time.Hour, "", "2026-03-09 10:00", "", "", 2 * time.Hour}},
		{"breached clock paused, resumed, stopped", func() Clock {
			return start().Breach().Pause(c, ts("2026-03-09 12:00")).Resume(c, ts("2026-03-09 13:00")).Stop(c, ts("2026-03-09 14:00"))
		}, want{Breached, 5 * time.Hour, "", "2026-03-09 10:00", "", "2026-03-09 14:00", 2 * time.Hour}},
		{"stop while paused: met", func() Clock { return start().Pause(c, ts(fri1630)).Stop(c, ts("2026-03-10 12:00")) },
			want{Met, 30 * time.Minute, "", "", "", "2026-03-10 12:00", 2 * time.Hour}},
		{"stop a stopped clock: unchanged", func() Clock {
			return start().Stop(c, ts("2026-03-09 09:00")).Stop(c, ts("2026-03-09 11:00"))
		}, want{Met, time.Hour, "", "2026-03-09 10:00", "", "2026-03-09 09:00", 2 * time.Hour}},
		{"restart after met", func() Clock {
			return start().Stop(c, ts("2026-03-09 09:30")).Restart(c, ts("2026-03-09 11:00"))
		}, want{Running, 0, "2026-03-09 11:00", "2026-03-09 13:00", "2026-03-09 12:36", "", 2 * time.Hour}},
		{"restart a breached clock", func() Clock {
			return start().Breach().Restart(c, ts("2026-03-09 16:00"))
		}, want{Running, 0, "2026-03-09 16:00", "2026-03-10 10:00", "2026-03-10 09:36", "", 2 * time.Hour}},
		{"replan shorter, already past: due now", func() Clock {
			return start().Replan(c, time.Hour, 0.8, "silver", ts("2026-03-09 09:30"))
		}, want{Running, 90 * time.Minute, "2026-03-09 09:30", "2026-03-09 09:30", "", "", time.Hour}},
		{"replan shorter, past the warn point: warning due now", func() Clock {
			return start().Replan(c, 105*time.Minute, 0.8, "silver", ts("2026-03-09 09:30"))
		}, want{Running, 90 * time.Minute, "2026-03-09 09:30", "2026-03-09 09:45", "2026-03-09 09:30", "", 105 * time.Minute}},
		{"replan longer", func() Clock {
			return start().Replan(c, 4*time.Hour, 0.8, "platinum", ts("2026-03-09 09:30"))
		}, want{Running, 90 * time.Minute, "2026-03-09 09:30", "2026-03-09 12:00", "2026-03-09 11:12", "", 4 * time.Hour}},
		{"replan longer un-warns a warned clock", func() Clock {
			return start().Warn().Replan(c, 4*time.Hour, 0.8, "platinum", ts("2026-03-09 09:40"))
		}, want{Running, 100 * time.Minute, "2026-03-09 09:40", "2026-03-09 12:00", "2026-03-09 11:12", "", 4 * time.Hour}},
		{"replan a paused clock: deadlines wait for resume", func() Clock {
			return start().Pause(c, ts(fri1630)).Replan(c, 4*time.Hour, 0.5, "platinum", ts("2026-03-09 09:00")).Resume(c, ts("2026-03-09 10:00"))
		}, want{Running, 30 * time.Minute, "2026-03-09 10:00", "2026-03-09 13:30", "2026-03-09 11:30", "", 4 * time.Hour}},
		{"replan breached to a larger budget not yet used: runs again", func() Clock {
			return start().Breach().Replan(c, 4*time.Hour, 0.8, "platinum", ts("2026-03-09 10:30"))
		}, want{Running, 150 * time.Minute, "2026-03-09 10:30", "2026-03-09 12:00", "2026-03-09 11:12", "", 4 * time.Hour}},
		{"replan breached past the new warn point: warned, no warning", func() Clock {
			return start().Breach().Replan(c, 3*time.Hour, 0.8, "platinum", ts("2026-03-09 10:30"))
		}, want{Warned, 150 * time.Minute, "2026-03-09 10:30", "2026-03-09 11:00", "", "", 3 * time.Hour}},
		{"replan breached to a budget already used: stays breached", func() Clock {
			return start().Breach().Replan(c, 135*time.Minute, 0.8, "silver", ts("2026-03-09 10:30"))
		}, want{Breached, 150 * time.Minute, "2026-03-09 10:30", "2026-03-09 10:00", "", "", 135 * time.Minute}},
		{"replan paused breached to a larger budget: paused", func() Clock {
			return start().Breach().Pause(c, ts("2026-03-09 10:30")).Replan(c, 4*time.Hour, 0.8, "platinum", ts("2026-03-09 11:00"))
		}, want{Paused, 150 * time.Minute, "", "", "", "", 4 * time.Hour}},
		{"replan a stopped clock: unchanged", func() Clock {
			return start().Stop(c, ts("2026-03-09 09:30")).Replan(c, time.Hour, 0.8, "silver", ts("2026-03-09 11:00"))
		}, want{Met, 90 * time.Minute, "", "2026-03-09 10:00", "", "2026-03-09 09:30", 2 * time.Hour}},
		{"warn on a paused clock: unchanged", func() Clock { return start().Pause(c, ts(fri1630)).Warn().Breach() },
			want{Paused, 30 * time.Minute, "", "", "", "", 2 * time.Hour}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.run()
			w := tc.want
			if got.State != w.state || got.Elapsed != w.elapsed || got.Budget != w.budget ||
				!got.Since.Equal(ts(w.since)) || !got.DueAt.Equal(ts(w.due)) ||
				!got.WarnDue.Equal(ts(w.warnDue)) || !got.StoppedAt.Equal(ts(w.stoppedAt)) {
				t.Errorf("got  state=%s elapsed=%v budget=%v since=%v due=%v warn=%v stopped=%v\nwant %+v",
					got.State, got.Elapsed, got.Budget, got.Since, got.DueAt, got.WarnDue, got.StoppedAt, w)
			}
			if got.Target == "" || got.Plan == "" {
				t.Errorf("target/plan lost: %+v", got)
			}
			if want := got.State == Running || got.State == Warned; got.Active() != want {
				t.Errorf("Active() = %v in state %s", got.Active(), got.State)
			}
		})
	}
}

func TestClockElapsedAt(t *testing.T) {
	c := cal(t, "Europe/Berlin", weekdays95)
	ts := func(s string) time.Time { return at(t, c, s) }
	run := Start(c, Resolution, "gold", 2*time.Hour, 0.8, ts("2026-03-06 16:00"))
	paused := run.Pause(c, ts("2026-03-06 16:30"))
	breached := run.Breach()
	stopped := run.Stop(c, ts("2026-03-09 09:15"))
	for _, tc := range []struct {
		name string
		c    Clock
		at   string
		want time.Duration
	}{
		{"at start", run, "2026-03-06 16:00", 0},
		{"before start", run, "2026-03-06 15:00", 0},
		{"friday 16:45", run, "2026-03-06 16:45", 45 * time.Minute},
		{"saturday", run, "2026-03-07 12:00", time.Hour},
		{"monday 09:15", run, "2026-03-09 09:15", 75 * time.Minute},
		{"paused, monday noon", paused, "2026-03-09 12:00", 30 * time.Minute},
		{"breached keeps counting", breached, "2026-03-09 12:00", 4 * time.Hour},
		{"stopped", stopped, "2026-03-10 12:00", 75 * time.Minute},
	} {
		if got := tc.c.ElapsedAt(c, ts(tc.at)); got != tc.want {
			t.Errorf("%s: ElapsedAt(%s) = %v, want %v", tc.name, tc.at, got, tc.want)
		}
	}
}

// TestClockPauseConservesTime checks that however a run is cut into stretches, the business
// time used and the deadline agree with one uninterrupted run that skips the paused time.
func TestClockPauseConservesTime(t *testing.T) {
	c := cal(t, "Europe/Berlin", weekdays95, christmas...)
	ts := func(s string) time.Time { return at(t, c, s) }
	k := Start(c, Resolution, "gold", 20*time.Hour, 0.5, ts("2026-12-22 10:00"))
	k = k.Pause(c, ts("2026-12-22 11:00")).Resume(c, ts("2026-12-23 16:00")) // 1h used
	k = k.Pause(c, ts("2026-12-28 09:30")).Resume(c, ts("2026-12-28 15:00")) // +1h + 30m (24-26 closed)
	if got, want := k.Elapsed, 150*time.Minute; got != want {
		t.Fatalf("Elapsed = %v, want %v", got, want)
	}
	// 17h30m left from Monday 28th 15:00: 2h that day, 8h on the 29th, 7h30m on the 30th.
	if want := ts("2026-12-30 16:30"); !k.DueAt.Equal(want) {
		t.Errorf("DueAt = %v, want %v", k.DueAt, want)
	}
	// Warn point 10h: 7h30m left -> 28th 17:00 (2h) + 29th 09:00 + 5h30m.
	if want := ts("2026-12-29 14:30"); !k.WarnDue.Equal(want) {
		t.Errorf("WarnDue = %v, want %v", k.WarnDue, want)
	}
}

func TestClockJSON(t *testing.T) {
	c := cal(t, "Europe/Berlin", weekdays95)
	k := Start(c, NextReply, "gold", 2*time.Hour, 0.8, at(t, c, "2026-03-06 16:00")).Pause(c, at(t, c, "2026-03-06 16:30"))
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var back Clock
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.State != k.State || back.Elapsed != k.Elapsed || back.Target != k.Target || back.Budget != k.Budget || !back.Since.IsZero() {
		t.Errorf("round trip: %+v -> %s -> %+v", k, b, back)
	}
	r := back.Resume(c, at(t, c, "2026-03-09 09:00"))
	if want := at(t, c, "2026-03-09 10:30"); !r.DueAt.Equal(want) {
		t.Errorf("DueAt after round trip = %v, want %v", r.DueAt, want)
	}
}
