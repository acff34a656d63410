package sts

import (
	"net/http"
	"sync"
	"testing"
)

// The same assertion presented by many callers at once is honoured once.
func TestAssertionReplayRace(t *testing.T) {
	f := newFixture(t)
	a := f.assertion(f.sp.ClientID, f.certDER, assertion{})
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			statuses <- f.post(f.tokenURL(2), assertionForm(a), nil).status
		})
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	if got[http.StatusOK] != 1 || got[http.StatusUnauthorized] != n-1 {
		t.Errorf("statuses %v, want exactly one 200 and %d 401", got, n-1)
	}
}

// A token whose sign-in cannot be recorded is never handed out.
func TestNoTokenWithoutSignInRecord(t *testing.T) {
	f := newFixture(t)
	if err := f.srv.Recorder.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	r := f.post(f.tokenURL(2), secretForm(f.sp.ClientID, f.secret), nil)
	if r.status != http.StatusInternalServerError || r.body["error"] != "server_error" {
		t.Errorf("status %d error %v, want 500 server_error", r.status, r.body["error"])
	}
	if _, ok := r.body["access_token"]; ok {
		t.Errorf("an unrecorded token was handed out")
	}
}
