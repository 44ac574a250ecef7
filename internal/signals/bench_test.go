package signals

import (
	"testing"
)

// benchMessage is a realistic 1 KB customer email: an outage report turning into a churn and
// legal threat, with a swear word, an accent and a request for a person.
const benchMessage = `Hello,

I'm writing again about ticket 48213 because nobody has answered since Tuesday. Since the
update on Monday our dashboard is not loading at all and the API returns 502 errors for every
request from our integration. We run the nightly billing export through it, so 1,200 invoices
for our own customers are now late and our finance team in Zürich is asking me every hour what
is going on. Your status page says everything is operational, which is frankly insulting.

We have been a customer for four years and pay for the enterprise plan precisely so that this
does not happen. I tried clearing the cache, rotating the API keys and switching the webhook
endpoint, as the help article suggests, and none of it made any difference. This is the third
outage this quarter and the damn thing keeps getting worse.

If this is not fixed by tomorrow morning we will cancel my subscription and switch to another
provider, and our lawyer has already asked for the SLA credits we are owed. Please stop sending
me the chatbot: I want to speak to a real person who can actually do something about it.

Regards,
Renée`

// benchConfig returns 20 keyword lists of 50 phrases each, the size the issue names, built
// from support vocabulary so that phrases share words the way real lists do.
func benchConfig() Config {
	themes := []struct {
		id    string
		seeds []string
	}{
		{"legal", []string{"lawyer", "attorney", "legal action", "court", "sue", "lawsuit", "solicitor", "litigation", "small claims", "legal department"}},
		{"churn", []string{"cancel my subscription", "switch to another provider", "competitor", "leave", "terminate", "close my account", "not renew", "moving away", "cancel the contract", "stop paying"}},
		{"billing", []string{"invoice", "charge", "overcharged", "billing", "payment", "credit card", "refund", "double charged", "receipt", "vat"}},
		{"outage", []string{"down", "outage", "not loading", "502", "503", "timeout", "unreachable", "offline", "crashed", "status page"}},
		{"security", []string{"hacked", "breach", "phishing", "password leak", "unauthorized", "2fa", "suspicious login", "compromised", "malware", "stolen"}},
		{"api", []string{"api", "webhook", "endpoint", "rate limit", "sdk", "integration", "oauth", "token", "api keys", "graphql"}},
		{"data", []string{"data loss", "deleted", "missing data", "export", "backup", "restore", "corrupted", "gdpr", "data request", "erase"}},
		{"performance", []string{"slow", "latency", "lag", "takes forever", "performance", "freezes", "hangs", "spinning", "high cpu", "memory leak"}},
		{"shipping", []string{"parcel", "delivery", "courier", "tracking number", "lost package", "shipping", "customs", "return label", "damaged box", "late delivery"}},
		{"account", []string{"login", "locked out", "reset password", "username", "sign in", "profile", "email change", "verification", "account locked", "two accounts"}},
		{"sla", []string{"sla", "sla credits", "uptime", "service credits", "response time", "guarantee", "penalty", "breach of contract", "compensation", "downtime credit"}},
		{"urgent", []string{"urgent", "asap", "immediately", "right now", "emergency", "critical", "top priority", "by tomorrow", "blocking", "production down"}},
		{"mobile", []string{"ios", "android", "iphone", "app store", "mobile app", "push notification", "tablet", "play store", "app crashes", "offline mode"}},
		{"upgrade", []string{"upgrade", "downgrade", "enterprise plan", "pricing", "seats", "license", "trial", "quote", "discount", "annual plan"}},
		{"fraud", []string{"fraud", "scam", "chargeback", "stolen card", "fake", "dispute", "unrecognised charge", "identity theft", "money laundering", "suspicious transaction"}},
		{"feedback", []string{"feature request", "suggestion", "feedback", "roadmap", "would be nice", "wishlist", "missing feature", "improvement", "idea", "vote"}},
		{"repeat", []string{"again", "third time", "still not", "nobody answered", "no response", "keeps happening", "same problem", "already told", "second time", "every time"}},
		{"finance", []string{"finance team", "accounts payable", "purchase order", "budget", "cost centre", "audit", "tax", "ledger", "payroll", "reconciliation"}},
		{"language", []string{"français", "deutsch", "español", "português", "italiano", "translation", "localisation", "wrong language", "zürich", "münchen"}},
		{"praise", []string{"thank you", "great job", "love it", "amazing", "well done", "excellent", "brilliant", "fantastic", "helpful", "appreciate"}},
	}
	mods := []string{"", "issue", "problem", "again", "please"}
	var cfg Config
	for _, th := range themes {
		kl := KeywordList{ID: th.id}
		for _, m := range mods {
			for _, s := range th.seeds {
				p := s
				if m != "" {
					p = s + " " + m
				}
				kl.Phrases = append(kl.Phrases, p)
			}
		}
		cfg.Keywords = append(cfg.Keywords, kl)
	}
	return cfg
}

// BenchmarkMessage1KB measures signal extraction for one ~1 KB message against 20 keyword
// lists of 50 phrases (the figure). "full" is Message; "text" is everything but
// VADER (fold, tokenise, one automaton pass, shouting, profanity); "vader" is the sentiment
// alone, to show the split.
func BenchmarkMessage1KB(b *testing.B) {
	x := mustNew(b, benchConfig())
	if n := len(benchMessage); n < 900 || n > 1300 {
		b.Fatalf("benchMessage is %d bytes; keep it about 1 KB", n)
	}
	b.Run("full", func(b *testing.B) {
		b.SetBytes(int64(len(benchMessage)))
		b.ReportAllocs()
		for b.Loop() {
			_ = x.Message(benchMessage)
		}
	})
	b.Run("text", func(b *testing.B) {
		b.SetBytes(int64(len(benchMessage)))
		b.ReportAllocs()
		for b.Loop() {
			_ = x.text(benchMessage)
		}
	})
	b.Run("vader", func(b *testing.B) {
		b.SetBytes(int64(len(benchMessage)))
		b.ReportAllocs()
		for b.Loop() {
			_ = x.sentiment(benchMessage)
		}
	})
}

// BenchmarkNew measures compiling a 20x50 policy, which happens on every policy load.
func BenchmarkNew(b *testing.B) {
	cfg := benchConfig()
	mustNew(b, cfg) // build the shared built-in lists outside the loop, as a running server has
	b.ReportAllocs()
	for b.Loop() {
		mustNew(b, cfg)
	}
}
