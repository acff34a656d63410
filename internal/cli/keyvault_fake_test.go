package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// vaultFake is an in-memory Key Vault (section 8.2) for the vault kv1, on a
// TLS server whose certificate names *.vault.localhost and 127.0.0.1: the
// CLI reaches it host-style (https://kv1.vault.localhost:PORT/, dialled on
// loopback) or path-style (https://127.0.0.1:PORT/kv1). Without a token it
// answers with the challenge; it accepts the tokens in accept; lists hold
// two items a page so that paging is exercised.
type vaultFake struct {
	t      *testing.T
	srv    *httptest.Server
	port   string
	caPEM  []byte
	accept []string // bearer tokens let in

	mu       sync.Mutex
	secrets  map[string]*kvSecret
	requests []fakeRequest // with a token only
	forbid   map[string]bool
}

type kvSecret struct {
	versions []kvVersion // oldest first; the last is current
	deleted  int64       // unix time, 0 when live
}

type kvVersion struct {
	version, value, contentType string
	tags                        map[string]string
	attrs                       map[string]any
}

func newVaultFake(t *testing.T, accept ...string) *vaultFake {
	t.Helper()
	f := &vaultFake{t: t, accept: accept, secrets: map[string]*kvSecret{}, forbid: map[string]bool{}}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vault fake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"*.vault.localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	_, f.port, _ = net.SplitHostPort(f.srv.Listener.Addr().String())
	return f
}

func (f *vaultFake) hostURL() string { return "https://kv1.vault.localhost:" + f.port + "/" }
func (f *vaultFake) pathURL() string { return "https://127.0.0.1:" + f.port + "/kv1" }

// env is the ARM fake's environment, trusting the vault's certificate too.
func (f *vaultFake) env(arm *armFake) map[string]string {
	env := arm.env()
	armPEM, err := os.ReadFile(env["SSL_CERT_FILE"])
	if err != nil {
		f.t.Fatal(err)
	}
	bundle := filepath.Join(f.t.TempDir(), "bundle.pem")
	if err := os.WriteFile(bundle, append(armPEM, f.caPEM...), 0o600); err != nil {
		f.t.Fatal(err)
	}
	env["SSL_CERT_FILE"] = bundle
	return env
}

// seedVaultResource puts kv1 in the ARM fake with this fake's URL.
func (f *vaultFake) seedVaultResource(arm *armFake, vaultURI string) {
	arm.put("/subscriptions/"+fakeSub+"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1",
		map[string]any{"location": "local", "properties": map[string]any{"vaultUri": vaultURI}})
}

func (f *vaultFake) recorded() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func kvError(w http.ResponseWriter, status int, code, inner, msg string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]string{"code": inner}
	}
	writeFakeJSON(w, status, map[string]any{"error": e})
}

func (f *vaultFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	base := "https://" + r.Host
	path := r.URL.Path
	if !strings.HasPrefix(r.Host, "kv1.") {
		if !strings.HasPrefix(path, "/kv1/") {
			kvError(w, 404, "VaultNotFound", "", "The vault was not found.")
			return
		}
		base, path = base+"/kv1", strings.TrimPrefix(path, "/kv1")
	}
	auth := r.Header.Get("Authorization")
	if !slices.Contains(f.accept, strings.TrimPrefix(auth, "Bearer ")) {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.example/`+fakeTenant+`", resource="https://vault.localhost:`+f.port+`"`)
		kvError(w, 401, "Unauthorized", "", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, fakeRequest{Method: r.Method, Path: path, Query: r.URL.RawQuery, Body: string(body)})
	if r.URL.Query().Get("api-version") == "" {
		kvError(w, 400, "BadParameter", "", "The api-version query parameter is missing.")
		return
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(segs) > 1 && f.forbid[segs[1]] {
		kvError(w, 403, "Forbidden", "ForbiddenByRbac", "Caller is not authorized to perform action on resource.")
		return
	}
	route := r.Method + " " + segs[0]
	if len(segs) > 2 {
		route += " " + segs[2]
	}
	switch {
	case route == "GET secrets" && len(segs) == 1:
		f.list(w, r, base, "/secrets", false)
	case route == "GET deletedsecrets" && len(segs) == 1:
		f.list(w, r, base, "/deletedsecrets", true)
	case route == "POST secrets" && len(segs) == 2 && segs[1] == "restore":
		f.restore(w, base, body)
	case route == "PUT secrets" && len(segs) == 2:
		f.set(w, base, segs[1], body)
	case route == "GET secrets" && len(segs) == 2, route == "GET secrets" && len(segs) == 3 && segs[2] == "":
		f.get(w, base, segs[1], "")
	case route == "GET secrets versions":
		s := f.live(w, segs[1])
		if s == nil {
			return
		}
		items := []any{}
		for _, v := range s.versions {
			items = append(items, f.bundle(base, segs[1], v, s, false))
		}
		writeFakeJSON(w, 200, map[string]any{"value": items})
	case route == "POST secrets backup":
		if s := f.live(w, segs[1]); s != nil {
			blob, _ := json.Marshal(map[string]any{"name": segs[1], "value": s.versions[len(s.versions)-1].value})
			writeFakeJSON(w, 200, map[string]string{"value": base64.RawURLEncoding.EncodeToString(append([]byte("FAKEBKP\x00\xff"), blob...))})
		}
	case r.Method == http.MethodGet && segs[0] == "secrets" && len(segs) == 3:
		f.get(w, base, segs[1], segs[2])
	case route == "DELETE secrets" && len(segs) == 2:
		if s := f.live(w, segs[1]); s != nil {
			s.deleted = 1700000000
			writeFakeJSON(w, 200, f.bundle(base, segs[1], s.versions[len(s.versions)-1], s, false))
		}
	case route == "GET deletedsecrets" && len(segs) == 2:
		if s := f.gone(w, segs[1]); s != nil {
			writeFakeJSON(w, 200, f.bundle(base, segs[1], s.versions[len(s.versions)-1], s, false))
		}
	case route == "POST deletedsecrets recover":
		if s := f.gone(w, segs[1]); s != nil {
			s.deleted = 0
			writeFakeJSON(w, 200, f.bundle(base, segs[1], s.versions[len(s.versions)-1], s, true))
		}
	case route == "DELETE deletedsecrets" && len(segs) == 2:
		if s := f.gone(w, segs[1]); s != nil {
			delete(f.secrets, segs[1])
			w.WriteHeader(204)
		}
	default:
		kvError(w, 404, "NotFound", "", "The requested operation is not supported by this vault.")
	}
}

func (f *vaultFake) live(w http.ResponseWriter, name string) *kvSecret {
	s := f.secrets[name]
	if s == nil || s.deleted != 0 {
		kvError(w, 404, "SecretNotFound", "", "A secret with (name/id) "+name+" was not found in this key vault.")
		return nil
	}
	return s
}

func (f *vaultFake) gone(w http.ResponseWriter, name string) *kvSecret {
	s := f.secrets[name]
	if s == nil || s.deleted == 0 {
		kvError(w, 404, "SecretNotFound", "", "Deleted Secret not found: "+name)
		return nil
	}
	return s
}

// bundle is a version on the wire, with its value only when withValue.
func (f *vaultFake) bundle(base, name string, v kvVersion, s *kvSecret, withValue bool) map[string]any {
	m := map[string]any{"id": base + "/secrets/" + name + "/" + v.version, "attributes": v.attrs}
	if withValue {
		m["value"] = v.value
	}
	if v.contentType != "" {
		m["contentType"] = v.contentType
	}
	if v.tags != nil {
		m["tags"] = v.tags
	}
	if s.deleted != 0 {
		m["recoveryId"] = base + "/deletedsecrets/" + name
		m["deletedDate"] = s.deleted
		m["scheduledPurgeDate"] = s.deleted + 7*86400
	}
	return m
}

func (f *vaultFake) set(w http.ResponseWriter, base, name string, body []byte) {
	var p struct {
		Value       *string           `json:"value"`
		ContentType string            `json:"contentType"`
		Tags        map[string]string `json:"tags"`
		Attributes  map[string]any    `json:"attributes"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Value == nil {
		kvError(w, 400, "BadParameter", "", "The secret value is required.")
		return
	}
	s := f.secrets[name]
	if s != nil && s.deleted != 0 {
		kvError(w, 409, "Conflict", "", "Secret "+name+" is currently in a deleted but recoverable state.")
		return
	}
	if s == nil {
		s = &kvSecret{}
		f.secrets[name] = s
	}
	var b [16]byte
	rand.Read(b[:])
	attrs := map[string]any{"enabled": true, "created": 1700000000, "updated": 1700000000}
	for k, v := range p.Attributes {
		attrs[k] = v
	}
	v := kvVersion{version: hex.EncodeToString(b[:]), value: *p.Value, contentType: p.ContentType, tags: p.Tags, attrs: attrs}
	s.versions = append(s.versions, v)
	writeFakeJSON(w, 200, f.bundle(base, name, v, s, true))
}

func (f *vaultFake) get(w http.ResponseWriter, base, name, version string) {
	s := f.live(w, name)
	if s == nil {
		return
	}
	v := s.versions[len(s.versions)-1]
	if version != "" {
		i := slices.IndexFunc(s.versions, func(v kvVersion) bool { return v.version == version })
		if i < 0 {
			kvError(w, 404, "SecretNotFound", "", "A secret with (name/id) "+name+"/"+version+" was not found in this key vault.")
			return
		}
		v = s.versions[i]
	}
	writeFakeJSON(w, 200, f.bundle(base, name, v, s, true))
}

// list answers two items a page, the next page linked by an absolute
// nextLink carrying api-version, as Key Vault does.
func (f *vaultFake) list(w http.ResponseWriter, r *http.Request, base, path string, deleted bool) {
	var names []string
	for n, s := range f.secrets {
		if (s.deleted != 0) == deleted {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	skip := r.URL.Query().Get("$skiptoken")
	if skip != "" {
		i := slices.Index(names, skip)
		names = names[i+1:]
	}
	page := map[string]any{"value": []any{}, "nextLink": nil}
	items := []any{}
	for i, n := range names {
		if i == 2 {
			page["nextLink"] = base + path + "?api-version=7.5&$skiptoken=" + names[1]
			break
		}
		s := f.secrets[n]
		item := f.bundle(base, n, s.versions[len(s.versions)-1], s, false)
		if !deleted {
			item["id"] = base + "/secrets/" + n
		}
		items = append(items, item)
	}
	page["value"] = items
	writeFakeJSON(w, 200, page)
}

func (f *vaultFake) restore(w http.ResponseWriter, base string, body []byte) {
	var p struct{ Value string }
	json.Unmarshal(body, &p)
	blob, err := base64.RawURLEncoding.DecodeString(p.Value)
	var b struct{ Name, Value string }
	if err != nil || !strings.HasPrefix(string(blob), "FAKEBKP\x00\xff") || json.Unmarshal(blob[9:], &b) != nil {
		kvError(w, 400, "BadParameter", "", "Backup blob contains invalid or corrupt version.")
		return
	}
	if f.secrets[b.Name] != nil {
		kvError(w, 409, "Conflict", "", "Secret "+b.Name+" already exists in this vault.")
		return
	}
	v := kvVersion{version: "00000000000000000000000000000001", value: b.Value, attrs: map[string]any{"enabled": true}}
	s := &kvSecret{versions: []kvVersion{v}}
	f.secrets[b.Name] = s
	writeFakeJSON(w, 200, f.bundle(base, b.Name, v, s, false))
}
