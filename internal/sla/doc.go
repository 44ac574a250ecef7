// Package sla does business-hours arithmetic for SLA clocks: given a policy calendar (a time
// zone, weekly open intervals and holiday dates), it answers when a target counted in business
// time falls due (Add), how much business time lies between two instants (Between), whether an
// instant is inside business hours (Open) and when business hours next begin (NextOpen).
//
// The package is pure: no clock, no I/O, no shared state. A *Calendar is immutable after New and
// may be used by any number of goroutines.
//
// # Rules
//
//   - Wall clock, real time. Open intervals are wall-clock times in the calendar's zone
//     ("09:00-17:00" on a Monday in Europe/Berlin); business time is the real (elapsed) time
//     spent inside them. So a 09:00-17:00 day is 8 h of business time even on the day the clocks
//     change, while a 00:00-24:00 day is 23 h on the spring-forward day and 25 h on the
//     fall-back day, because that is how much time really passes. A 24/7 calendar therefore
//     behaves exactly like plain time.Time arithmetic.
//   - Boundaries inside a DST gap or overlap. A boundary whose wall time does not exist (02:30
//     on the spring-forward day in Europe/Berlin) is moved to the transition instant, so an
//     interval lying wholly inside the gap is empty that day. A boundary whose wall time occurs
//     twice (02:30 on the fall-back day) is taken at its later occurrence, the one Go's time.Date
//     picks. Calendars whose boundaries avoid the small hours are not affected.
//   - Holidays (YYYY-MM-DD) close the whole date in the calendar's zone, including the
//     after-midnight part of an overnight interval that starts the evening before (the policy
//     parser has already split "22:00-06:00" into 22:00-24:00 and 00:00-06:00 of the next day).
//   - Intervals on one day that touch or overlap are merged; an interval ending at 24:00 and
//     one starting at 00:00 the next day form one continuous stretch.
//   - Half-open intervals: an instant is open when start <= t < end, so 17:00 is closed in a
//     09:00-17:00 day, and NextOpen(17:00 Friday) is 09:00 Monday.
//   - Add(from, d) starts counting at from, or at the next open instant when from is outside
//     hours. When d is used up exactly at the end of an interval, Add returns that end (Friday
//     17:00, not Monday 09:00): that is the instant the time has elapsed. Add(from, d) with
//     d <= 0 returns from unchanged (not NextOpen(from)): nothing has to elapse.
//   - Add and NextOpen search at most SearchLimit (ten years of calendar time, measured in
//     days from from's date); a target that would fall later returns Never, a far-future
//     sentinel that no deadline engine will ever reach. New refuses a calendar with no open hours
//     in the week, so for real SLA targets (hours to weeks) the limit is never hit.
//   - Between(a, b) is zero when b <= a and otherwise the business time in [a, b); it is the
//     inverse of Add: Between(a, Add(a, d)) == d for d > 0 within the search limit, and
//     Add(a, Between(a, b)) is the earliest instant with that much business time after a,
//     which is b itself unless b lies in closed time or exactly at the start of an interval
//     (then it is the end of the last open interval before b).
//   - Results are in the location of the time passed in (from, t), so callers keep their zone.
//
// # Cost
//
// Add and Between walk day by day only across weeks that contain a holiday or a DST change;
// any run of whole weeks without either is skipped in one step using the calendar's nominal
// weekly business time. A 72 h target on a 40 h week walks a handful of days; a multi-year span
// costs a few steps per DST change and holiday.
package sla
