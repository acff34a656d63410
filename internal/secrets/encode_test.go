package secrets

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

// bundleCase is one GET answer to encode both ways.
type bundleCase struct {
	name  string
	base  string
	vault store.Vault
	sec   store.Secret
	v     store.SecretVersion
	value string
}

// checkBundleEncoding holds secretBundle.appendJSON to what json.Marshal
// makes of the same bundle.
func checkBundleEncoding(t *testing.T, tt bundleCase) {
	t.Helper()
	req := &request{base: tt.base, vault: tt.vault}
	value := tt.value
	want, err := json.Marshal(req.bundle(tt.sec, tt.v, &value))
	if err != nil {
		t.Fatal(err)
	}
	b := &secretBundle{req: req, sec: tt.sec, v: tt.v, value: []byte(tt.value)}
	got := b.appendJSON([]byte("prefix kept:"))
	if diff := cmp.Diff("prefix kept:"+string(want), string(got)); diff != "" {
		t.Errorf("%s: appendJSON differs from json.Marshal (-marshal +append):\n%s", tt.name, diff)
	}
}

func TestSecretBundleEncoding(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	vault := store.Vault{Name: "kv1", RetentionDays: 90}
	live := store.Secret{Vault: "kv1", Name: "db"}
	version := store.SecretVersion{Vault: "kv1", Name: "db", Version: "0123456789abcdef0123456789abcdef",
		Enabled: true, CreatedAt: created, UpdatedAt: created}
	with := func(edit func(*bundleCase)) bundleCase {
		c := bundleCase{name: "plain", base: "https://kv1.vault.localhost:8446", vault: vault, sec: live, v: version, value: "correct horse battery staple"}
		edit(&c)
		return c
	}
	cases := []bundleCase{
		with(func(c *bundleCase) {}),
		with(func(c *bundleCase) { c.name, c.value = "empty value", "" }),
		with(func(c *bundleCase) {
			c.name, c.value = "every escape", "q\" b\\ <script>&amp; \b\f\n\r\t \x00\x01\x1f\x7f é 日本 \u2028\u2029 \xff\xfe \xe2\x80 end"
		}),
		with(func(c *bundleCase) { c.name, c.value = "invalid UTF-8 at the end", "abc\xe2\x80" }),
		with(func(c *bundleCase) { c.name, c.base = "odd host", "https://<kv1>&\"x\".vault\xff:1" }),
		with(func(c *bundleCase) {
			c.name = "content type, tags, validity window"
			c.v.ContentType = "text/plain; <charset>"
			c.v.Tags = map[string]string{"b": "2", "a": "1<", "": "empty key", "é": "\u2028", "A": "upper"}
			c.v.NotBefore = created.Add(-time.Hour)
			c.v.Expires = created.Add(time.Hour)
		}),
		with(func(c *bundleCase) { c.name, c.v.Tags = "empty tags", map[string]string{} }),
		with(func(c *bundleCase) {
			c.name = "disabled, times before 1970, no timestamps"
			c.v.Enabled = false
			c.v.NotBefore = time.Unix(-5, 0)
			c.v.CreatedAt, c.v.UpdatedAt = time.Time{}, time.Time{}
		}),
		with(func(c *bundleCase) {
			c.name = "purge protection, short retention"
			c.vault.PurgeProtection, c.vault.RetentionDays = true, 7
		}),
		with(func(c *bundleCase) {
			c.name = "deleted"
			c.sec.DeletedAt, c.sec.ScheduledPurgeAt = created, created.AddDate(0, 0, 90)
		}),
		with(func(c *bundleCase) {
			c.name = "deleted at the epoch"
			c.sec.DeletedAt, c.sec.ScheduledPurgeAt = time.Unix(0, 0), time.Unix(1, 0)
		}),
	}
	for _, tt := range cases {
		checkBundleEncoding(t, tt)
	}
}

func FuzzSecretBundleEncoding(f *testing.F) {
	f.Add("value", "db", "https://kv1.vault.localhost", "text/plain", "k", "v", int64(0), true)
	f.Add("<\u2028\xff>", "a-b", "https://h\x00", "", "", "", int64(-1), false)
	f.Fuzz(func(t *testing.T, value, name, base, contentType, tagKey, tagValue string, exp int64, enabled bool) {
		v := store.SecretVersion{Name: name, Version: "0123456789abcdef0123456789abcdef", Enabled: enabled,
			ContentType: contentType, CreatedAt: time.Unix(1700000000, 0)}
		if exp != 0 {
			v.Expires = time.Unix(exp, 0)
		}
		if tagKey != "" || tagValue != "" {
			v.Tags = map[string]string{tagKey: tagValue, "z": tagValue}
		}
		checkBundleEncoding(t, bundleCase{name: "fuzz", base: base, vault: store.Vault{Name: "kv1", RetentionDays: 30},
			sec: store.Secret{Name: name}, v: v, value: value})
	})
}

// writeJSON writes a self-encoding body with the same headers as a
// marshalled one; respond wipes the plaintext it held once written, and
// also when the answer is an error instead (an access record that did not
// commit).
func TestWriteJSONSelfEncodingBody(t *testing.T) {
	req := &request{base: "https://kv1.vault.localhost", vault: store.Vault{Name: "kv1", RetentionDays: 90}}
	value := "plaintext-canary"
	sec := store.Secret{Name: "db"}
	v := store.SecretVersion{Name: "db", Version: "0123456789abcdef0123456789abcdef", Enabled: true}

	marshalled := httptest.NewRecorder()
	writeJSON(marshalled, response{http.StatusOK, req.bundle(sec, v, &value)})
	body := &secretBundle{req: req, sec: sec, v: v, value: []byte(value)}
	appended := httptest.NewRecorder()
	var srv Server
	srv.respond(appended, response{http.StatusOK, body}, nil)

	if diff := cmp.Diff(marshalled.Header(), appended.Header()); diff != "" {
		t.Errorf("headers differ (-marshal +append):\n%s", diff)
	}
	if diff := cmp.Diff(marshalled.Body.String(), appended.Body.String()); diff != "" {
		t.Errorf("bodies differ (-marshal +append):\n%s", diff)
	}
	if got, want := appended.Code, http.StatusOK; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if string(body.value) == value || len(body.value) != len(value) {
		t.Errorf("the body's plaintext after writing = %q, want it zeroed", body.value)
	}

	refused := &secretBundle{req: req, sec: sec, v: v, value: []byte(value)}
	w := httptest.NewRecorder()
	srv.respond(w, response{http.StatusOK, refused}, internalError(errors.New("recording access: disk full")))
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), value) {
		t.Errorf("refused answer: %d %s, want a 500 without the value", w.Code, w.Body)
	}
	if string(refused.value) == value {
		t.Errorf("the body's plaintext after a refusal = %q, want it zeroed", refused.value)
	}
}

// splitRoute splits as strings.Split does up to three segments, and says
// "more" (four) past that.
func TestSplitRoute(t *testing.T) {
	for _, path := range []string{"", "secrets", "secrets/", "secrets/db", "secrets/db/", "secrets/db/v1",
		"secrets/db/v1/", "secrets/db/v1/x", "/", "//", "///", "a/b/c/d/e", "deletedsecrets/db/recover"} {
		want := strings.Split(path, "/")
		segs, n := splitRoute(path)
		got := segs[:n]
		if len(want) > 3 {
			if n != 4 || !slices.Equal(got[:3], want[:3]) {
				t.Errorf("splitRoute(%q) = %q, want 4 segments starting %q", path, got, want[:3])
			}
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("splitRoute(%q) = %q, want %q", path, got, want)
		}
	}
}
