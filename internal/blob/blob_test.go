package blob

import (
	"bytes"
	"encoding/base64"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/blob/content"
	"github.com/signet-platform/signet/internal/store"
)

func blockID(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func blockList(entries ...string) string {
	return "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>" + strings.Join(entries, "") + "</BlockList>"
}

func TestBadInputGetsBlobErrors(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	if got := f.put("/box/blob", "0123456789", nil); got.Status != http.StatusCreated {
		t.Fatalf("seed blob: %+v", got)
	}
	if got := f.put("/box/staged?comp=block&blockid="+blockID("aaaa"), "xyz", nil); got.Status != http.StatusCreated {
		t.Fatalf("seed block: %+v", got)
	}
	q := func(s string) string { return strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(s) }
	tests := []struct {
		name   string
		method string
		path   string
		body   io.Reader
		hdr    map[string]string
		want   outcome
	}{
		{"range not bytes", "GET", "/box/blob", nil, map[string]string{"x-ms-range": "items=0-1"}, outcome{400, "InvalidHeaderValue"}},
		{"range end before start", "GET", "/box/blob", nil, map[string]string{"x-ms-range": "bytes=5-2"}, outcome{400, "InvalidHeaderValue"}},
		{"two ranges", "GET", "/box/blob", nil, map[string]string{"Range": "bytes=0-1,3-4"}, outcome{400, "InvalidHeaderValue"}},
		{"range past the end", "GET", "/box/blob", nil, map[string]string{"x-ms-range": "bytes=10-20"}, outcome{416, "InvalidRange"}},
		{"range clamped", "GET", "/box/blob", nil, map[string]string{"x-ms-range": "bytes=8-100"}, outcome{206, ""}},
		{"range md5 too large", "GET", "/box/blob", nil, map[string]string{"x-ms-range": "bytes=0-", "x-ms-range-get-content-md5": "true"}, outcome{400, "OutOfRangeInput"}},
		{"bad If-Modified-Since", "GET", "/box/blob", nil, map[string]string{"If-Modified-Since": "yesterday"}, outcome{400, "InvalidHeaderValue"}},
		{"block id not base64", "PUT", "/box/staged?comp=block&blockid=***", strings.NewReader("x"), nil, outcome{400, "InvalidBlockId"}},
		{"block id too long", "PUT", "/box/staged?comp=block&blockid=" + q(blockID(strings.Repeat("x", 65))), strings.NewReader("x"), nil, outcome{400, "InvalidBlockId"}},
		{"block id of another length", "PUT", "/box/staged?comp=block&blockid=" + q(blockID("bbbbbbbbb")), strings.NewReader("x"), nil, outcome{400, "InvalidBlobOrBlock"}},
		{"block too large", "PUT", "/box/staged?comp=block&blockid=" + q(blockID("cccc")), bytes.NewReader(make([]byte, 1<<20+1)), nil, outcome{413, "RequestBodyTooLarge"}},
		{"block without Content-Length", "PUT", "/box/staged?comp=block&blockid=" + q(blockID("dddd")), io.MultiReader(strings.NewReader("x")), nil, outcome{411, "MissingContentLengthHeader"}},
		{"block list names an unknown block", "PUT", "/box/staged?comp=blocklist", strings.NewReader(blockList("<Latest>" + blockID("zzzz") + "</Latest>")), nil, outcome{400, "InvalidBlockList"}},
		{"block list names a staged block as committed", "PUT", "/box/staged?comp=blocklist", strings.NewReader(blockList("<Committed>" + blockID("aaaa") + "</Committed>")), nil, outcome{400, "InvalidBlockList"}},
		{"block list not XML", "PUT", "/box/staged?comp=blocklist", strings.NewReader("<BlockList><Latest>"), nil, outcome{400, "InvalidXmlDocument"}},
		{"block list unknown element", "PUT", "/box/staged?comp=blocklist", strings.NewReader(blockList("<Newest>" + blockID("aaaa") + "</Newest>")), nil, outcome{400, "InvalidXmlDocument"}},
		{"block list wrong root", "PUT", "/box/staged?comp=blocklist", strings.NewReader("<Blocks/>"), nil, outcome{400, "InvalidXmlDocument"}},
		{"block list bad id", "PUT", "/box/staged?comp=blocklist", strings.NewReader(blockList("<Latest>!!</Latest>")), nil, outcome{400, "InvalidBlockId"}},
		{"put blob without blob type", "PUT", "/box/x", strings.NewReader("x"), map[string]string{"x-ms-blob-type": ""}, outcome{400, "MissingRequiredHeader"}},
		{"put page blob", "PUT", "/box/x", strings.NewReader("x"), map[string]string{"x-ms-blob-type": "PageBlob"}, outcome{400, "InvalidHeaderValue"}},
		{"put blob without Content-Length", "PUT", "/box/x", io.MultiReader(strings.NewReader("x")), nil, outcome{411, "MissingContentLengthHeader"}},
		{"put blob MD5 mismatch", "PUT", "/box/x", strings.NewReader("x"), map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(make([]byte, 16))}, outcome{400, "Md5Mismatch"}},
		{"put blob MD5 malformed", "PUT", "/box/x", strings.NewReader("x"), map[string]string{"Content-MD5": "abc"}, outcome{400, "InvalidHeaderValue"}},
		{"put blob bad metadata name", "PUT", "/box/x", strings.NewReader("x"), map[string]string{"x-ms-meta-1abc": "v"}, outcome{400, "InvalidMetadata"}},
		{"customer-provided key", "PUT", "/box/x", strings.NewReader("x"), map[string]string{"x-ms-encryption-key": "a2V5"}, outcome{400, "FeatureNotSupported"}},
		{"lease id", "PUT", "/box/x", strings.NewReader("x"), map[string]string{"x-ms-lease-id": uuid.NewString()}, outcome{412, "LeaseNotPresentWithBlobOperation"}},
		{"container name upper case", "PUT", "/Bad?restype=container", nil, nil, outcome{400, "InvalidResourceName"}},
		{"container name too short", "PUT", "/ab?restype=container", nil, nil, outcome{400, "InvalidResourceName"}},
		{"container name double hyphen", "PUT", "/a--b?restype=container", nil, nil, outcome{400, "InvalidResourceName"}},
		{"blob name with dot-dot", "GET", "/box/a/../b", nil, nil, outcome{400, "InvalidResourceName"}},
		{"blob name too long", "GET", "/box/" + strings.Repeat("n", 1025), nil, nil, outcome{400, "InvalidResourceName"}},
		{"public container", "PUT", "/pub?restype=container", nil, map[string]string{"x-ms-blob-public-access": "blob"}, outcome{409, "PublicAccessNotPermitted"}},
		{"existing container", "PUT", "/box?restype=container", nil, nil, outcome{409, "ContainerAlreadyExists"}},
		{"blob in missing container", "PUT", "/nope/x", strings.NewReader("x"), nil, outcome{404, "ContainerNotFound"}},
		{"missing blob", "GET", "/box/none", nil, nil, outcome{404, "BlobNotFound"}},
		{"bad maxresults", "GET", "/box?restype=container&comp=list&maxresults=0", nil, nil, outcome{400, "InvalidQueryParameterValue"}},
		{"bad marker", "GET", "/box?restype=container&comp=list&marker=%25%25", nil, nil, outcome{400, "InvalidQueryParameterValue"}},
		{"bad block list type", "GET", "/box/staged?comp=blocklist&blocklisttype=some", nil, nil, outcome{400, "InvalidQueryParameterValue"}},
		{"unsupported operation", "POST", "/box/blob", nil, nil, outcome{400, "UnsupportedHttpVerb"}},
		{"unknown account", "GET", "/../nosuchacct/c/blob", nil, nil, outcome{404, "ResourceNotFound"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"x-ms-blob-type": "BlockBlob"}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			path := tc.path
			if rest, ok := strings.CutPrefix(path, "/../"); ok {
				// Addressed to another account: rewrite below.
				path = "\x00" + rest
			}
			var resp *http.Response
			if strings.HasPrefix(path, "\x00") {
				req, _ := http.NewRequest(tc.method, f.http.URL+"/"+path[1:], tc.body)
				req.Header.Set("Authorization", "Bearer "+f.token(f.owner))
				r, err := f.http.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Body.Close()
				resp = r
			} else {
				resp = f.do(tc.method, path, tc.body, hdr)
			}
			if d := cmp.Diff(tc.want, result(t, resp)); d != "" {
				t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.path, d)
			}
		})
	}
}

func TestAuthenticationFailuresCarryTheChallenge(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	challenge := "Bearer authorization_uri=" + testLogin + "/" + testTenant + "/oauth2/authorize resource_id=https://storage.azure.com"
	other := f.token(uuid.NewString())
	tests := []struct {
		name      string
		auth      string
		want      outcome
		challenge bool
	}{
		{"no token", "", outcome{401, "NoAuthenticationInformation"}, true},
		{"garbage token", "Bearer not.a.token", outcome{401, "InvalidAuthenticationInfo"}, true},
		{"tampered signature", "Bearer " + other[:len(other)-4] + "AAAA", outcome{401, "InvalidAuthenticationInfo"}, true},
		{"basic auth", "Basic dXNlcjpwYXNz", outcome{401, "InvalidAuthenticationInfo"}, true},
		{"shared key", "SharedKey acct:c2ln", outcome{403, "KeyBasedAuthenticationNotPermitted"}, false},
		{"no role", "Bearer " + other, outcome{403, "AuthorizationPermissionMismatch"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.do(http.MethodGet, "/box/blob", nil, map[string]string{"Authorization": tc.auth})
			if d := cmp.Diff(tc.want, result(t, resp)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if got := resp.Header.Get("WWW-Authenticate"); (got == challenge) != tc.challenge {
				t.Errorf("WWW-Authenticate %q (want challenge: %v)", got, tc.challenge)
			}
		})
	}
}

func TestHostStyleAddressing(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	f.put("/box/dir/file.txt", "hello", nil)
	req, _ := http.NewRequest(http.MethodGet, f.http.URL+"/box/dir/file.txt", nil)
	req.Host = "acct.blob.localhost:443"
	req.Header.Set("Authorization", "Bearer "+f.token(f.owner))
	resp, err := f.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Errorf("host-style GET: %d %q", resp.StatusCode, body)
	}
}

// The block list decides the blob's content in its order, from staged and
// committed blocks, without copying; files nothing refers to are removed.
func TestBlockListCommitsWithoutCopying(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	for _, b := range []struct{ id, data string }{{"b1", "AAAA"}, {"b2", "BBBB"}, {"b3", "CCCC"}} {
		if got := f.put("/box/x?comp=block&blockid="+blockID(b.id), b.data, nil); got.Status != 201 {
			t.Fatalf("put block %s: %+v", b.id, got)
		}
	}
	filesBefore := contentFiles(t, f)
	commit := func(entries ...string) outcome {
		return result(t, f.do(http.MethodPut, "/box/x?comp=blocklist", strings.NewReader(blockList(entries...)), nil))
	}
	if got := commit("<Latest>"+blockID("b2")+"</Latest>", "<Uncommitted>"+blockID("b1")+"</Uncommitted>"); got.Status != 201 {
		t.Fatalf("commit: %+v", got)
	}
	if got := readBlob(t, f, "/box/x"); got != "BBBBAAAA" {
		t.Errorf("blob = %q, want BBBBAAAA", got)
	}
	// b3 was never committed: dropped with its file; b1 and b2's files are
	// the blob now (no copies were made).
	after := contentFiles(t, f)
	if len(filesBefore) != 3 || len(after) != 2 {
		t.Errorf("content files: %d before commit, %d after; want 3 then 2", len(filesBefore), len(after))
	}
	// Re-commit reusing a committed block, plus a new staged one.
	f.put("/box/x?comp=block&blockid="+blockID("b4"), "DDDD", nil)
	if got := commit("<Committed>"+blockID("b1")+"</Committed>", "<Latest>"+blockID("b4")+"</Latest>"); got.Status != 201 {
		t.Fatalf("second commit: %+v", got)
	}
	if got := readBlob(t, f, "/box/x"); got != "AAAADDDD" {
		t.Errorf("blob = %q, want AAAADDDD", got)
	}
	if got := len(contentFiles(t, f)); got != 2 {
		t.Errorf("after second commit %d content files, want 2 (b2's removed)", got)
	}
	// Deleting the blob removes its files.
	if got := result(t, f.do(http.MethodDelete, "/box/x", nil, nil)); got.Status != 202 {
		t.Fatalf("delete: %+v", got)
	}
	if got := len(contentFiles(t, f)); got != 0 {
		t.Errorf("after delete %d content files, want 0", got)
	}
}

func readBlob(t *testing.T, f *fixture, path string) string {
	t.Helper()
	resp := f.do(http.MethodGet, path, nil, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}

func contentFiles(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(f.s.Content.Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// A file committed to disk whose metadata never committed (a crash in
// between) is invisible and is swept at start; so is a temporary file.
func TestSweepRemovesWhatNoRecordNames(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	kept := strings.Repeat("kept", DefaultInlineMax/4+1) // past the inline limit: a content file
	f.put("/box/kept", kept, nil)
	f.put("/box/small", "small", nil) // inline: no file for the sweep to keep
	key, _ := f.s.accountKey(f.account)
	w, _ := f.s.Content.Create(f.account.ID, key)
	w.Write([]byte("orphan"))
	w.Commit()
	tmp, _ := f.s.Content.Create(f.account.ID, key)
	tmp.Write([]byte("half"))
	n, err := f.s.Sweep(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want the orphan and the temporary file removed", n, err)
	}
	if got := readBlob(t, f, "/box/kept"); got != kept {
		t.Errorf("kept blob reads %d bytes, not the %d put", len(got), len(kept))
	}
	if got := readBlob(t, f, "/box/small"); got != "small" {
		t.Errorf("inline blob reads %q after the sweep", got)
	}
	if got := len(contentFiles(t, f)); got != 1 {
		t.Errorf("%d content files after the sweep, want 1", got)
	}
}

func TestKnownPatternNeverOnDisk(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	pattern := strings.Repeat("SIGNET-PLAINTEXT-CANARY/", 4000)
	f.put("/box/canary", pattern, map[string]string{"x-ms-meta-note": "x"})
	f.put("/box/small-canary", pattern[:4096], nil) // inline, in the database files
	f.put("/box/staged?comp=block&blockid="+blockID("b1"), pattern, nil)
	if got := readBlob(t, f, "/box/canary"); got != pattern {
		t.Fatal("canary does not read back")
	}
	root := filepath.Dir(f.s.Content.Dir) // the store's files too
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("PLAINTEXT-CANARY")) {
			t.Errorf("plaintext found in %s", p)
		}
		return nil
	})
}

func TestAccountDeletionRemovesItsData(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	f.put("/box/a", "data", nil)
	hooks := &AccountHooks{Server: f.s}
	err := f.st.Write(t.Context(), func(tx store.Tx) error {
		return hooks.Deleted(tx, store.Resource{ID: f.account.ResourceID, Type: AccountType, Name: "acct"})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.s.removeDeletedAccounts(t.Context())
	if got := len(contentFiles(t, f)); got != 0 {
		t.Errorf("%d content files left after the account was deleted", got)
	}
	if got := result(t, f.do(http.MethodGet, "/box/a", nil, nil)); got.Code != "ResourceNotFound" {
		t.Errorf("GET after delete: %+v", got)
	}
	if _, ok := f.s.keys.Load(f.account.ID); ok {
		t.Error("the deleted account's content key is still cached")
	}
}

// At start, the sweep removes the directory of an account the store no
// longer has, whatever it holds.
func TestSweepRemovesDeadAccounts(t *testing.T) {
	f := newFixture(t)
	dead := strings.Repeat("d", 32)
	w, err := f.s.Content.Create(dead, make([]byte, content.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("left behind"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	n, err := f.s.Sweep(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want the dead account's directory removed", n, err)
	}
	got, err := f.s.Content.Accounts()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, dead) {
		t.Errorf("account directories after the sweep: %q, want no %q", got, dead)
	}
}
