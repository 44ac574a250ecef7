// Package policy turns the policy document (escalated.yaml) into a validated, immutable *Policy:
// calendars, tiers, teams, agents, escalation paths and escalation limits, signal lists and
// compiled rules, with lookups the rest of the engine uses to route and escalate.
//
// The policy is code a support lead edits by hand, so its errors are written for that person.
// Parse reports every problem in one pass, each as "file:line:col: path: what is wrong (what is
// allowed)", pointing at the exact YAML node:
//
//	escalated.yaml:14:19: teams[2].tier: unknown tier "t9" (known tiers: t1, t2, t3)
//
// To keep those positions, the document is decoded into yaml.Node trees rather than structs,
// and walked in four steps:
//
//	src ──decode──> node tree ──expand──> plain tree ──check──> *Policy ──index──> lookups
//	     (syntax,         (aliases and merge     (shape, ids,
//	      one document)    keys resolved, with    references between
//	                       a size budget)         sections)
//
// Unknown keys are errors everywhere this package owns the keys: a misspelt optional key would
// otherwise be dropped without a word and its setting silently lost.
//
// The signals and rules sections are read completely: keyword lists, and rules with their
// events, actions (every team, agent, channel and enum value checked) and conditions. A
// condition is an expr expression (github.com/expr-lang/expr) compiled once, here, against the
// typed environment Env; a misspelt field, a type error or a condition that is not true/false
// is an error at the line and column of the mistake inside the expression, also inside quoted
// and block scalars. Conditions are limited so that evaluating one can neither hang nor take
// unbounded memory (see MaxConditionNodes and condition.go).
//
// The sla and channels sections belong to the packages that compile them (SLA plans,
// notification channels). Parse checks only their outer shape, plus SLA durations so that
// `check` reports a bad duration even before that compiler runs, reads the channel ids that
// notify actions refer to, and keeps the sections as nodes so their owners can report errors
// with positions too (CompileConditionNode compiles an SLA plan's `when`).
//
// A valid policy may still carry Warnings, lint findings that do not stop it from loading:
// rules that can never fire (a condition that is always false, an event the policy makes
// impossible, a rule shadowed by an earlier one that always stops), escalations that are always
// refused (no path leads to the target), keyword lists no rule reads, path cycles, and teams
// without a calendar.
//
// A *Policy never changes after Parse returns. A new version of the document is a new Policy,
// swapped in whole, so the engine can share one across goroutines without locks.
package policy
