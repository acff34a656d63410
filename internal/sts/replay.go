package sts

import (
	"sync"
	"time"
)

// Replay defence for client assertions (RFC 7523 §3: a jti is used once).
//
// The authority is the store: an assertion is spent by inserting its
// marker in the same transaction that records the token's sign-in (the
// SignInRecorder's StartSignIn), so a token exists if and only if its
// assertion was spent on it, across every replica, and that commit runs
// while the token is being signed. Once the assertion's own signature has
// checked out and before the token is signed, spending refuses an
// assertion this process is spending right now or has spent recently, so
// a replay normally costs no token signature. It is a bounded memory, not
// the authority: a replay it has forgotten, or one made to another
// replica, costs a signature and still gets no token.

// maxRemembered bounds how many spent assertions a process remembers.
// Immediate replays are the ones worth refusing early; older ones fall to
// the store.
const maxRemembered = 1 << 16

type assertionKey struct{ issuer, jti string }

// spending is the assertions this process is spending (until their commit
// is answered) or has spent (until they expire, or are pushed out). The
// zero value is ready.
type spending struct {
	mu sync.Mutex
	// until is when a spent assertion may be forgotten; the zero time marks
	// one in flight.
	until map[assertionKey]time.Time
	spent []assertionKey // spent ones, oldest first
}

// claim takes (issuer, jti) at now. It returns false when the assertion is
// in flight or known spent. Otherwise the caller must call done.
func (s *spending) claim(issuer, jti string, now time.Time) bool {
	k := assertionKey{issuer, jti}
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.until[k]; ok && (until.IsZero() || until.After(now)) {
		return false
	}
	if s.until == nil {
		s.until = make(map[assertionKey]time.Time)
	}
	s.until[k] = time.Time{}
	return true
}

// done answers a claim: spent (until expires) when its marker committed,
// or when the store found it already spent; otherwise it is free again.
func (s *spending) done(issuer, jti string, spent bool, expires, now time.Time) {
	k := assertionKey{issuer, jti}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !spent {
		delete(s.until, k)
		return
	}
	s.until[k] = expires
	s.spent = append(s.spent, k)
	// Forget from the oldest: what has expired, and beyond the bound.
	for len(s.spent) > 0 {
		old := s.spent[0]
		until := s.until[old]
		if len(s.spent) <= maxRemembered && (until.IsZero() || until.After(now)) {
			break
		}
		if !until.IsZero() { // not re-claimed since it expired
			delete(s.until, old)
		}
		s.spent = s.spent[1:]
	}
}
