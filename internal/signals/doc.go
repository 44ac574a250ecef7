// Package signals computes the facts about a customer message that escalation rules read
// (PRODUCT.md F5): which keyword lists it hits, its sentiment, whether it asks for a human,
// whether it shouts or swears, and per ticket a frustration score. They are computed once,
// when the message arrives, and stored with it, so that rules never rescan text.
//
// The package is pure: no I/O, no clock, no package-level mutable state. New compiles the
// policy's signals section once, at policy load; the resulting Extractor is immutable and safe
// for concurrent use.
//
// # Matching
//
// Every phrase list (the policy's keyword lists, the built-in "wants a human", complaint and
// profanity lists, and the policy's extras for them) is matched in one pass over the message:
//
//  1. fold: lower case, compatibility decomposition (NFKD: full-width letters and ligatures
//     become plain letters), nonspacing marks removed ("Café" -> "cafe", whether the accent was
//     precomposed or combining), a few letters mapped by hand ("ß" -> "ss", "ø" -> "o"), and
//     every apostrophe variant written as "'";
//  2. tokenise: a word is a run of letters, digits and marks; an apostrophe or asterisk inside
//     a word stays in it ("don't", "f*ck"), everything else separates words;
//  3. match: an Aho-Corasick automaton whose alphabet is words finds every phrase of every
//     list in one left-to-right pass over the tokens.
//
// Phrases are folded and tokenised the same way, so matching is case- and accent-insensitive,
// whole-word ("sue" never matches inside "issue", "lawyer" does not match "lawyers"), and
// multi-word phrases match across any punctuation and whitespace between their words
// ("legal -\n action" matches "legal action"). Scripts written without spaces (Chinese,
// Japanese) tokenise into long runs and only match whole runs; the built-in lists are English,
// and the policy adds phrases for other languages.
//
// The built-in lists (thousands of phrases once expanded) are compiled once per process and
// shared; each policy gets its own small automaton, and both advance in the same token loop.
// One map lookup per token finds the token's id in both automata.
//
// # The signals of a message (escalated.Signals)
//
// Keywords: the ids of the lists hit, sorted and unique, []string{} when none. Besides the
// policy's lists it may contain ComplaintList ("complaint"), the built-in complaint phrases:
// the words for a complaint ("complaint", "reclamation"), filing a claim ("lodge a consumer
// claim", "claim against"), and plain dissatisfaction ("not happy with", "fed up", "worst
// service"). A policy list with that id extends the built-in one.
//
// Sentiment: VADER's compound score (github.com/jonreiter/govader), in [-1, 1], rounded to four
// places as the reference implementation does. Whitespace runs are collapsed to one space
// first, because the port splits words on spaces only.
//
// WantsHuman: the message hits the built-in "wants a human" list or the policy's extras. The
// built-in list is generated from verbs ("talk", "speak", "chat", "contact", "transfer me",
// "get me", ...) times prepositions times determiners times who ("a human", "someone", "an
// agent", "a live agent", "your supervisor", "a customer service representative", ...), plus
// phrases that are requests on their own ("real person", "live agent", "not a bot"). "customer
// service" alone is not a person: "when can I call customer service" asks for opening hours.
// Past tense is absent on purpose: "the agent I talked to" already had one.
//
// Shouting: at least ShoutMinLetters (12) cased letters of which at least ShoutUpperShare
// (70%) are upper case, or ShoutBangs (3) or more "!" in a row. Letters in words that contain a
// digit are not counted, because order numbers and error codes are upper case without anyone
// shouting.
//
// Profanity: a whole word or phrase of the built-in list or the policy's extras. Cheap
// disguises of a single word are caught too: asterisks ("f*ck", "sh**" against words of the
// same length, at least two letters visible), digits for letters ("sh1t") and stretched
// letters ("fuuuck"; only runs of three or more, since "ass" and "pass" double letters
// legitimately). A profane word that no other phrase uses is transparent to matching, so
// "speak to a damn agent" still asks for a human.
//
// Negative (a function over Signals, not a stored field): the message hit ComplaintList or
// its sentiment is at or below NegativeThreshold (-0.6). Profanity alone does not count; see
// Negative for why.
//
// # The ticket aggregate (Ticket)
//
// Ticket.Add folds one customer message into the aggregate: Sentiment is the last message's,
// Trend the last TrendLen (5) sentiments oldest first, Keywords the sorted union of the list
// ids hit so far, WantsHuman whether any message asked, and Frustration is recomputed.
// Rescore recomputes Frustration when only the counters changed (a reopen).
//
// # Frustration
//
// Frustration(trend, reopens, customerContacts, wantsHuman) is in [0, 1]. Five components,
// each in [0, 1]:
//
//	level    = Σ w_i·max(0, -s_i) / Σ w_i, w_i = 1..n oldest to newest
//	decline  = clamp(-(b·(n-1)), 0, 1), b the least-squares slope of s over 0..n-1
//	reopens  = 1 - 0.5^reopens
//	contacts = 1 - 0.8^max(0, customerContacts - 2)
//	human    = 1 if the customer asked for a human, else 0
//
// combined as a noisy-OR:
//
//	frustration = 1 - (1 - 0.7·level)(1 - 0.4·decline)(1 - 0.6·reopens)(1 - 0.35·contacts)(1 - 0.3·human)
//
// Each weight is what its component alone can reach: a trend of -1 messages alone gives 0.7,
// one reopen alone 0.3, asking for a human alone 0.3. The noisy-OR keeps the score in [0, 1]
// without clamping, never lowers it when a component rises, lets one strong reason suffice,
// and adds weak ones up with diminishing returns. Positive messages count as calm (zero) rather
// than as credit against an angry one. The level is weighted toward the newest message and the
// decline rewards a conversation that is improving: the same three sentiments score 0.60 as
// 0.3, -0.2, -0.7 (souring) and 0.19 as -0.7, -0.2, 0.3 (recovering), with three contacts. The
// first two customer messages are a normal conversation and do not count as repeated contacts.
//
// Quality on the Bitext customer-support sample is pinned by TestBitextQuality; the numbers are
// in the comment above its pins. Extraction time for a 1 KB message with 20 lists of 50
// phrases is measured by BenchmarkMessage1KB, where VADER is most of the cost.
package signals
