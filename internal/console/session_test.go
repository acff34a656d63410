package console

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestSessionTimeouts(t *testing.T) {
	tests := []struct {
		name string
		// uses are the gaps between successive requests after sign-in.
		uses []time.Duration
		want bool // whether the session is still alive after the last one
	}{
		{"fresh", []time.Duration{0}, true},
		{"used within the idle timeout", []time.Duration{14 * time.Minute}, true},
		{"idle for 15 minutes", []time.Duration{15 * time.Minute}, false},
		{"kept busy for almost 8 hours", busy(8*time.Hour - time.Minute), true},
		{"kept busy past 8 hours", busy(8*time.Hour + time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := newSessionStore(IdleTimeout, AbsoluteTimeout, 10)
				sess, err := st.create(nil, "who")
				if err != nil {
					t.Fatal(err)
				}
				var got *session
				for i, gap := range tt.uses {
					time.Sleep(gap)
					got = st.get(sess.id)
					if got == nil && i < len(tt.uses)-1 {
						t.Fatalf("session ended early, at use %d", i)
					}
				}
				if alive := got != nil; alive != tt.want {
					t.Errorf("alive = %v, want %v", alive, tt.want)
				}
				if !tt.want && st.len() != 0 {
					t.Errorf("an expired session stays in memory (%d)", st.len())
				}
			})
		})
	}
}

// busy is requests every 7 minutes for total (7 does not divide 8 hours,
// so no request lands exactly on the absolute limit).
func busy(total time.Duration) []time.Duration {
	var out []time.Duration
	for d := time.Duration(0); d < total; d += 7 * time.Minute {
		out = append(out, min(7*time.Minute, total-d))
	}
	return out
}

func TestSessionStoreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newSessionStore(IdleTimeout, AbsoluteTimeout, 2)
		for range 2 {
			if _, err := st.create(nil, "who"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.create(nil, "who"); err != errTooManySessions {
			t.Fatalf("third session: err = %v, want errTooManySessions", err)
		}
		// Expired sessions make room.
		time.Sleep(IdleTimeout)
		if _, err := st.create(nil, "who"); err != nil {
			t.Fatalf("after expiry: %v", err)
		}
	})
}

func TestSessionIDsAreDistinctAndLong(t *testing.T) {
	st := newSessionStore(IdleTimeout, AbsoluteTimeout, 10)
	a, _ := st.create(nil, "a")
	b, _ := st.create(nil, "b")
	if a.id == b.id || a.csrf == b.csrf || a.id == a.csrf {
		t.Fatal("session ids and CSRF tokens must be unique")
	}
	// 256 bits, base64url without padding.
	if len(a.id) != 43 || len(a.csrf) != 43 {
		t.Errorf("id length %d, csrf length %d, want 43", len(a.id), len(a.csrf))
	}
	if st.get("") != nil || st.get(a.id+"x") != nil {
		t.Error("an unknown id found a session")
	}
}

func TestLoginCodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lc := newLoginCodes(LoginCodeTTL)
		code, err := lc.issue()
		if err != nil {
			t.Fatal(err)
		}
		if lc.redeem(code + "x") {
			t.Error("a wrong code was accepted")
		}
		if !lc.redeem(code) {
			t.Fatal("a fresh code was refused")
		}
		if lc.redeem(code) {
			t.Error("a code was accepted twice")
		}

		late, _ := lc.issue()
		time.Sleep(LoginCodeTTL - time.Second)
		onTime, _ := lc.issue()
		time.Sleep(time.Second)
		if lc.redeem(late) {
			t.Error("a code was accepted after 10 minutes")
		}
		if !lc.redeem(onTime) {
			t.Error("a code one second old was refused")
		}
		if lc.redeem("") {
			t.Error("the empty code was accepted")
		}
	})
}

func TestLoginCodesBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lc := newLoginCodes(LoginCodeTTL)
		oldest, _ := lc.issue()
		for range maxLoginCodes {
			time.Sleep(time.Second)
			if _, err := lc.issue(); err != nil {
				t.Fatal(err)
			}
		}
		if len(lc.byHash) > maxLoginCodes {
			t.Errorf("%d codes outstanding, want at most %d", len(lc.byHash), maxLoginCodes)
		}
		if lc.redeem(oldest) {
			t.Error("the oldest code should have made way")
		}
	})
}
