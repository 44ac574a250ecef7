package web

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in limits. Checking a password is deliberately expensive (argon2id: 19 MiB and ~30 ms),
// so the sign-in form is where a runaway script or a guesser would hurt: at most NumCPU checks
// run at once (others wait their turn), and failures are limited per id and per client address.
// A person who mistypes a few times is not slowed down; a script trying passwords is.
const (
	// signInBurst failures are allowed at once, then one more every signInRefill.
	signInBurst  = 5
	signInRefill = 30 * time.Second
	// maxLimiters bounds the limiters kept: past it they are all forgotten (an attacker who
	// fills the table only resets everyone's count, including their own).
	maxLimiters = 10_000
	// MaxIDLength is the longest id the form accepts (policy ids are far shorter).
	MaxIDLength = 128
	// maxFormBytes bounds every console form: the longest is a pasted policy draft.
	maxFormBytes = 2 << 20
)

type signInLimits struct {
	checks chan struct{}
	mu     sync.Mutex
	fails  map[string]*rate.Limiter
}

func newSignInLimits() *signInLimits {
	return &signInLimits{checks: make(chan struct{}, max(1, runtime.NumCPU())), fails: map[string]*rate.Limiter{}}
}

// allowed says whether another failure of key would still be within its budget, without
// spending it.
func (l *signInLimits) allowed(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.fails[key]
	return lim == nil || lim.TokensAt(now) >= 1
}

// failed spends one failure of each key.
func (l *signInLimits) failed(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > maxLimiters {
		l.fails = map[string]*rate.Limiter{}
	}
	for _, k := range keys {
		lim := l.fails[k]
		if lim == nil {
			lim = rate.NewLimiter(rate.Every(signInRefill), signInBurst)
			l.fails[k] = lim
		}
		lim.AllowN(now, 1)
	}
}

// check runs fn (a password check) when a slot is free.
func (l *signInLimits) check(fn func()) {
	l.checks <- struct{}{}
	defer func() { <-l.checks }()
	fn()
}
