// Package policy turns the policy document (escalated.yaml) into a validated, immutable *Policy:
// calendars, tiers, teams, agents, escalation paths and escalation limits, with lookups the
// rest of the engine uses to route and escalate.
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
// The sla, signals, rules and channels sections belong to the packages that compile them
// (conditions, signal lists, notification channels). Parse checks only their outer shape, plus
// SLA durations so that `check` reports a bad duration even before that compiler runs, and
// keeps them as nodes so their owners can report errors with positions too.
//
// A *Policy never changes after Parse returns. A new version of the document is a new Policy,
// swapped in whole, so the engine can share one across goroutines without locks.
package policy
