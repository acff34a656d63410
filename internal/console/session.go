package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/signet-platform/signet/client"
)

// Cookie names. The __Host- prefix makes the browser refuse them unless
// Secure, Path=/ and without Domain, so no other host (a sibling
// subdomain) can plant or overwrite them.
const (
	sessionCookie = "__Host-signet-console"
	// loginCookie carries the sign-in form's CSRF token before there is a
	// session (double submit: the form must echo it).
	loginCookie = "__Host-signet-login"
	csrfField   = "csrf"
)

// session is one signed-in operator. Its fields do not change after
// creation except lastSeen, which only the store touches under its lock.
type session struct {
	id      string
	csrf    string
	who     string // what the header shows: the principal's client id
	client  *client.Client
	created time.Time
	// lastSeen is guarded by sessionStore.mu.
	lastSeen time.Time
}

// sessionStore keeps sessions in memory: a restart signs everyone out,
// which for an operator console is a feature.
type sessionStore struct {
	idle, absolute time.Duration
	max            int

	mu   sync.Mutex
	byID map[string]*session
}

func newSessionStore(idle, absolute time.Duration, max int) *sessionStore {
	return &sessionStore{idle: idle, absolute: absolute, max: max, byID: map[string]*session{}}
}

var errTooManySessions = errors.New("console: too many sessions")

// create starts a session for a verified client.
func (st *sessionStore) create(c *client.Client, who string) (*session, error) {
	id, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	sess := &session{id: id, csrf: csrf, who: who, client: c, created: now, lastSeen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.byID) >= st.max {
		for k, v := range st.byID {
			if st.expired(v, now) {
				delete(st.byID, k)
			}
		}
		if len(st.byID) >= st.max {
			return nil, errTooManySessions
		}
	}
	st.byID[id] = sess
	return sess, nil
}

// get returns the live session named id and marks it used; an expired one
// is deleted and not returned.
func (st *sessionStore) get(id string) *session {
	if id == "" {
		return nil
	}
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	sess, ok := st.byID[id]
	if !ok {
		return nil
	}
	if st.expired(sess, now) {
		delete(st.byID, id)
		return nil
	}
	sess.lastSeen = now
	return sess
}

func (st *sessionStore) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.lastSeen) >= st.idle || now.Sub(sess.created) >= st.absolute
}

func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byID, id)
}

func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byID)
}

// loginCodes are the one-time login links' codes, held as SHA-256 hashes
// so a lookup never compares the secret itself byte by byte.
type loginCodes struct {
	ttl time.Duration

	mu     sync.Mutex
	byHash map[[32]byte]time.Time // expiry
}

// maxLoginCodes bounds outstanding codes; the oldest make way.
const maxLoginCodes = 16

func newLoginCodes(ttl time.Duration) *loginCodes {
	return &loginCodes{ttl: ttl, byHash: map[[32]byte]time.Time{}}
}

func (lc *loginCodes) issue() (string, error) {
	code, err := randomToken()
	if err != nil {
		return "", err
	}
	now := time.Now()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for h, exp := range lc.byHash {
		if !now.Before(exp) {
			delete(lc.byHash, h)
		}
	}
	for len(lc.byHash) >= maxLoginCodes {
		var oldest [32]byte
		var at time.Time
		for h, exp := range lc.byHash {
			if at.IsZero() || exp.Before(at) {
				oldest, at = h, exp
			}
		}
		delete(lc.byHash, oldest)
	}
	lc.byHash[sha256.Sum256([]byte(code))] = now.Add(lc.ttl)
	return code, nil
}

// redeem consumes code: true once, for a code issued less than ttl ago.
func (lc *loginCodes) redeem(code string) bool {
	if code == "" {
		return false
	}
	h := sha256.Sum256([]byte(code))
	lc.mu.Lock()
	defer lc.mu.Unlock()
	exp, ok := lc.byHash[h]
	if !ok {
		return false
	}
	delete(lc.byHash, h)
	return time.Now().Before(exp)
}

// randomToken is 256 random bits, base64url.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// tokensEqual compares a presented token with the expected one in constant
// time; an empty expected token never matches.
func tokensEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) sessionFrom(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return s.sessions.get(c.Value)
}

// hostCookie is a __Host- cookie with the console's attributes.
func hostCookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}
