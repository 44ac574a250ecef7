package sla

import (
	"time"

	"github.com/escalated/escalated"
)

// Clock targets, as named in the policy's sla section.
const (
	FirstResponse = "first_response"
	NextReply     = "next_reply"
	Resolution    = "resolution"
	Acknowledge   = "acknowledge"
)

// Clock states.
const (
	Running  = "running"
	Paused   = "paused"
	Met      = "met"
	Warned   = "warned"
	Breached = "breached"
)

// Clock is one SLA clock of a ticket (or of an escalation, for acknowledge): a budget of
// business time, how much of it has been used, and the deadlines that follow. It is a value:
// every method returns the changed clock and leaves the receiver alone. Nothing here reads the
// time or does I/O; the caller passes the instant of each event and the calendar to count in.
//
// # Rules
//
//   - Elapsed business time is kept in two parts: Elapsed, the business time used before Since,
//     and, while the clock counts, Between(Since, at). ElapsedAt adds them. Pause folds the
//     running stretch into Elapsed and clears Since; Resume starts a new stretch with the
//     remaining budget, so a pause costs nothing however long it lasts.
//   - Deadlines. While running or warned, DueAt = Calendar.Add(Since, Budget-Elapsed), and, until
//     the clock has warned, WarnDue is the instant WarnAt*Budget of business time is used
//     (zero when WarnAt is not strictly between 0 and 1). Active reports whether the clock has
//     a deadline still to fire; the deadline engine keeps one row per active clock and calls
//     Warn and Breach when WarnDue and DueAt pass. Warn and Breach change only the state.
//   - A breached clock keeps counting until it is stopped: Since stays set, DueAt stays at the
//     (past) instant of the breach, ElapsedAt keeps growing, and Active is false because
//     nothing is left to fire. Pausing a breached clock stops the count but leaves it breached
//     (Since is zero while it is paused); Resume counts again.
//   - Paused clocks have no deadlines (DueAt and WarnDue zero). On Resume the state is derived
//     from the business time used and WarnFired: past the warn point a clock whose warning
//     fired comes back warned, without a new warning; one whose warning had not fired yet gets
//     WarnDue = the resume instant, so it warns at once; at or past its budget it comes back
//     with DueAt = the resume instant (and no WarnDue), so the engine fires the breach at once.
//   - Stop ends the clock at at: met when at <= DueAt (for a paused clock: when Elapsed <=
//     Budget), otherwise breached, also when the engine has not yet called Breach. StoppedAt
//     records the instant; Elapsed holds the final business time; DueAt is kept as the deadline
//     the clock was judged against (zero when it was stopped while paused). Stopping a
//     stopped clock changes nothing.
//   - Restart (next_reply, on a customer message) begins a fresh run of the same budget at at,
//     whatever the clock's state: Elapsed zero, state running, old verdict dropped. Callers that
//     measure from the first unanswered message restart only clocks that are not active.
//   - Replan (the ticket's plan changed) carries the business time already used over to the new
//     budget and warn share: the clock is as if it had run under the new plan from the start of
//     its current run, and deadlines are recomputed from at. A not-yet-breached clock already
//     past its new budget gets DueAt = at (the engine breaches it at once); one past its new
//     warn point gets WarnDue = at unless it is already warned or due. A warned clock whose new
//     warn point lies ahead goes back to running and will warn again. An already breached clock
//     stays breached unless the new budget is larger than the business time used, in which case
//     it runs again (or is paused, if it was paused) towards the new deadline. Stopped clocks
//     (met, or breached and stopped) keep their verdict and are not changed.
//   - Times are returned in the location of the instants passed in.
//
// The fields are escalated.Clock's (a ticket stores its clocks in that type; convert with
// Clock(c) and escalated.Clock(c), which costs nothing).
type Clock escalated.Clock

// Start begins a clock for target under plan at at.
func Start(cal *Calendar, target, plan string, budget time.Duration, warnAt float64, at time.Time) Clock {
	c := Clock{Target: target, Plan: plan, Budget: budget, WarnAt: warnAt, State: Running}
	return c.run(cal, at, false)
}

// warnPoint is the business time at which the clock warns; ok is false when it never warns.
func (c Clock) warnPoint() (time.Duration, bool) {
	if c.WarnAt <= 0 || c.WarnAt >= 1 {
		return 0, false
	}
	return time.Duration(c.WarnAt * float64(c.Budget)), true
}

// stopped reports whether the clock has been stopped (met, or breached and stopped).
func (c Clock) stopped() bool { return c.State == Met || !c.StoppedAt.IsZero() }

// fold moves the business time counted since Since into Elapsed and restarts the stretch at at
// (or ends it when keep is false). No-op when the clock is not counting.
func (c Clock) fold(cal *Calendar, at time.Time, keep bool) Clock {
	if c.Since.IsZero() {
		return c
	}
	c.Elapsed += cal.Between(c.Since, at)
	c.Since = time.Time{}
	if keep {
		c.Since = at
	}
	return c
}

// run makes a not-yet-breached clock count from at (Elapsed already folded) and derives its
// state and deadlines from the business time used. wasWarned tells whether the warning has
// already been fired in this run.
func (c Clock) run(cal *Calendar, at time.Time, wasWarned bool) Clock {
	c.Since = at
	c.DueAt = cal.Add(at, c.Budget-c.Elapsed)
	c.WarnDue = time.Time{}
	c.State = Running
	wp, ok := c.warnPoint()
	c.WarnFired = false
	switch {
	case !ok:
	case c.Elapsed >= wp && wasWarned:
		c.State, c.WarnFired = Warned, true
	case c.Elapsed >= c.Budget:
		// Due now; the breach supersedes the warning.
	default:
		// At or past the warn point without a warning yet: Add returns at, so it warns now.
		c.WarnDue = cal.Add(at, wp-c.Elapsed)
	}
	return c
}

// Pause stops a running or warned clock at at: the business time used so far goes into Elapsed,
// the state becomes paused and DueAt and WarnDue are cleared. A breached clock stops counting
// but stays breached. Other clocks are returned unchanged.
func (c Clock) Pause(cal *Calendar, at time.Time) Clock {
	switch {
	case c.Active():
		c = c.fold(cal, at, false)
		c.State, c.DueAt, c.WarnDue = Paused, time.Time{}, time.Time{}
	case c.State == Breached && !c.stopped():
		c = c.fold(cal, at, false)
	}
	return c
}

// Resume restarts a paused clock at at with the remaining budget (see the type's rules for the
// state it comes back in). A paused breached clock counts again. Other clocks are returned
// unchanged.
func (c Clock) Resume(cal *Calendar, at time.Time) Clock {
	switch {
	case c.State == Paused:
		return c.run(cal, at, c.WarnFired)
	case c.State == Breached && !c.stopped() && c.Since.IsZero():
		c.Since = at
	}
	return c
}

// Stop ends the clock at at: met when at <= DueAt (a paused clock: Elapsed <= Budget),
// otherwise breached. StoppedAt records at. A stopped clock is returned unchanged.
func (c Clock) Stop(cal *Calendar, at time.Time) Clock {
	if c.stopped() {
		return c
	}
	wasPaused := c.State == Paused
	c = c.fold(cal, at, false)
	c.WarnDue = time.Time{}
	c.StoppedAt = at
	switch {
	case c.State == Breached:
	case wasPaused && c.Elapsed <= c.Budget, !wasPaused && !at.After(c.DueAt):
		c.State = Met
	default:
		c.State = Breached
	}
	return c
}

// Reopen lets a stopped clock count again at at with the business time it had used (resolution,
// when a solved ticket is reopened: the customer is still waiting on the same problem). A met
// clock comes back running or warned, or due at once when its budget is used up; a clock that
// was stopped breached counts on as breached. Other clocks are returned unchanged.
func (c Clock) Reopen(cal *Calendar, at time.Time) Clock {
	if !c.stopped() {
		return c
	}
	c.StoppedAt = time.Time{}
	if c.State == Breached {
		c.Since = at
		return c
	}
	return c.run(cal, at, c.WarnFired)
}

// Restart begins a fresh run of the same budget at at (next_reply on a customer message),
// whatever the clock's state.
func (c Clock) Restart(cal *Calendar, at time.Time) Clock {
	c.Elapsed = 0
	c.StoppedAt = time.Time{}
	return c.run(cal, at, false)
}

// Replan applies a changed plan at at: budget and warn share are replaced, the business time
// already used carries over, and deadlines are recomputed (see the type's rules). Stopped
// clocks are returned unchanged.
func (c Clock) Replan(cal *Calendar, budget time.Duration, warnAt float64, plan string, at time.Time) Clock {
	if c.stopped() {
		return c
	}
	counting := !c.Since.IsZero()
	c = c.fold(cal, at, true)
	c.Budget, c.WarnAt, c.Plan = budget, warnAt, plan
	wp, ok := c.warnPoint()
	warned := ok && c.Elapsed >= wp
	switch c.State {
	case Paused:
		return c
	case Running, Warned:
		return c.run(cal, at, warned && c.WarnFired)
	case Breached:
		if c.Elapsed >= c.Budget {
			return c
		}
		if !counting {
			c.State, c.DueAt, c.WarnDue = Paused, time.Time{}, time.Time{}
			c.Since = time.Time{}
			return c
		}
		// The warning (if any) was superseded by the breach; do not fire it again.
		return c.run(cal, at, warned)
	}
	return c
}

// Warn marks a running clock warned (the engine calls it when WarnDue passes) and clears
// WarnDue. Other clocks are returned unchanged.
func (c Clock) Warn() Clock {
	if c.State == Running {
		c.State, c.WarnDue, c.WarnFired = Warned, time.Time{}, true
	}
	return c
}

// Breach marks a running or warned clock breached (the engine calls it when DueAt passes). The
// clock keeps counting until stopped. Other clocks are returned unchanged.
func (c Clock) Breach() Clock {
	if c.Active() {
		c.State, c.WarnDue = Breached, time.Time{}
	}
	return c
}

// ElapsedAt returns the business time the clock has used by at.
func (c Clock) ElapsedAt(cal *Calendar, at time.Time) time.Duration {
	if c.Since.IsZero() {
		return c.Elapsed
	}
	return c.Elapsed + cal.Between(c.Since, at)
}

// Active reports whether the clock has a deadline still to fire: it is running or warned.
func (c Clock) Active() bool { return c.State == Running || c.State == Warned }
