package signals

// The built-in phrase lists. They are English because the product's customers write English
// first; the policy adds phrases in other languages through Config. Each list is generated from
// small parts (verbs x prepositions x objects) instead of being typed out, so that the intent
// of the list is readable and "talk to a person" cannot be covered while "talking with a
// person" is forgotten.

// humanObjects are who a customer asks to reach when they want a person instead of a bot or a
// form. "customer service" alone is deliberately absent: "when can I call customer service"
// asks for opening hours, not for a human (the Bitext sample labels it contact_customer_service).
var humanObjects = []string{
	"human", "humans", "person", "someone", "somebody", "anyone", "anybody",
	"agent", "agents", "operator", "operators", "representative", "representatives", "rep",
	"reps", "assistant", "advisor", "adviser", "manager", "supervisor", "employee", "staff",
	"staff member", "team member",
	"human agent", "live agent", "live person", "live human", "live chat agent",
	"real person", "real human", "actual person", "actual human", "human being", "real agent",
	"support agent", "service agent", "customer service agent", "customer support agent",
	"customer service representative", "customer service rep", "customer support representative",
	"support representative", "service representative", "sales representative",
	"human representative", "human operator", "live operator",
}

// humanDeterminers precede an object; "" allows "talk to someone".
var humanDeterminers = []string{"", "a", "an", "the", "some", "your", "one of your", "a real", "an actual"}

// talkVerbs need a preposition before the object ("speak to", "chat with").
var talkVerbs = []string{
	"talk", "talking", "speak", "speaking", "chat", "chatting",
	"get in touch", "getting in touch", "get through", "put me through", "transfer me", "connect me",
	"escalate", "escalate this", "escalate me", "hand me over", "hand this over", "pass me",
}

// reachVerbs take the object directly ("contact an agent", "get me a human").
var reachVerbs = []string{
	"contact", "contacting", "reach", "reaching", "call", "calling", "email",
	"get me", "give me", "need", "want", "request", "requesting", "find",
}

// strongHuman are unambiguous on their own: nobody writes "live agent" or "real person" to a
// support desk without asking for one. ("not a bot" is not here: "I am not a bot" is what a
// customer says to a captcha, not to ask for a person; nor "human being", as in "as a human
// being I deserve better".)
var strongHuman = []string{
	"human agent", "live agent", "live person", "live human", "real person", "real human",
	"actual person", "actual human", "human representative", "human operator",
	"customer service representative", "customer support representative",
	"stop the bot", "no more bots", "don't want a bot", "don't want to talk to a bot",
	"not another bot", "enough of the bot",
	"human please", "agent please", "operator please", "representative please", "person please",
}

// objectsForWant are the objects that make "want"/"need"/"give me" a request for a person;
// "need someone to fix this" or "want somebody" are too vague, so only role nouns qualify.
var objectsForWant = map[string]bool{
	"human": true, "person": true, "agent": true, "operator": true, "representative": true,
	"rep": true, "manager": true, "supervisor": true,
}

// builtinWantsHuman returns the built-in "wants a human" phrases.
func builtinWantsHuman() []string {
	var out []string
	out = append(out, strongHuman...)
	for _, o := range humanObjects {
		for _, d := range humanDeterminers {
			obj := o
			if d != "" {
				obj = d + " " + o
			}
			for _, v := range talkVerbs {
				out = append(out, v+" to "+obj, v+" with "+obj)
			}
			for _, v := range reachVerbs {
				switch v {
				case "need", "want", "get me", "give me", "request", "requesting", "find":
					if !objectsForWant[o] && !isMultiWord(o) {
						continue
					}
				}
				out = append(out, v+" "+obj)
			}
		}
	}
	return out
}

func isMultiWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return true
		}
	}
	return false
}

// ComplaintList is the keyword list id under which the built-in complaint phrases are reported
// in Signals.Keywords. It is reserved: a policy list with this id adds its phrases to the
// built-in ones instead of replacing them. Rules read it as `"complaint" in message.keywords`,
// and Negative counts it.
const ComplaintList = "complaint"

// complaintNouns are what a customer files; "claim" needs a verb because "claim my refund" is
// a request, while "file a claim" or "claim against your company" is a complaint.
// "reclamation" is how French, Spanish and German speakers say complaint in English
// (réclamation, reclamación, Reklamation).
var complaintVerbs = []string{
	"file", "filing", "filed", "lodge", "lodging", "lodged", "make", "making", "submit",
	"submitting", "raise", "raising", "open", "opening", "register", "registering",
}

var complaintAdjectives = []string{"", "customer", "consumer", "formal", "official"}

// builtinComplaint returns the built-in complaint phrases: the words for a complaint, filing a
// claim, and plain statements of dissatisfaction that VADER's lexicon scores too mildly
// ("not happy with", "fed up").
func builtinComplaint() []string {
	out := []string{
		"complaint", "complaints", "complain", "complaining", "complained",
		"reclamation", "reclamations", "grievance",
		"claim against", "complaint against",
		"unhappy with", "not happy with", "not satisfied", "dissatisfied", "not pleased",
		"disappointed with", "disappointed in", "very disappointed", "so disappointed",
		"unacceptable", "fed up", "sick of", "sick and tired", "had enough",
		"worst service", "terrible service", "awful service", "poor service", "bad service",
		"horrible service", "worst experience", "terrible experience", "bad experience",
		"awful experience", "horrible experience", "poor experience",
		"rip off", "ripoff", "ripped off", "scam", "scammed", "con artists",
		"report you", "consumer protection", "ombudsman", "trading standards",
		"chargeback", "still not resolved", "still waiting", "never again",
	}
	for _, v := range complaintVerbs {
		for _, d := range []string{"", "a", "an"} {
			for _, a := range complaintAdjectives {
				p := v
				if d != "" {
					p += " " + d
				}
				if a != "" {
					p += " " + a
				}
				out = append(out, p+" claim")
			}
		}
	}
	return out
}

// builtinProfanity is common English profanity, inflected forms spelled out because matching is
// whole-word. Words with a common innocent meaning ("cock", "pussy", "screw", "Dick" as a name)
// are left out: a false "profanity" on a polite customer is worse than a missed one.
var builtinProfanity = []string{
	"fuck", "fucks", "fucked", "fucker", "fuckers", "fucking", "fuckin", "fuckup", "fuckwit",
	"motherfucker", "motherfuckers", "motherfucking", "what the fuck", "wtf", "stfu", "ffs",
	"shit", "shits", "shitty", "shitting", "bullshit", "horseshit", "shithead", "shitshow",
	"piece of shit", "holy shit",
	"crap", "crappy", "damn", "damned", "dammit", "damnit", "goddamn", "goddamned", "goddamnit",
	"goddam", "god damn", "bloody", "bloody hell", "hell", "what the hell", "the hell",
	"ass", "asses", "asshole", "assholes", "arse", "arsehole", "arseholes", "dumbass", "jackass",
	"bastard", "bastards", "bitch", "bitches", "bitching", "son of a bitch",
	"piss", "pissed", "pissing", "piss off", "dickhead", "dickheads",
	"cunt", "cunts", "twat", "twats", "wanker", "wankers", "bollocks", "bugger",
	"slut", "whore", "retard", "retarded",
}
