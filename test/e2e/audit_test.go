package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/signet-platform/signet/internal/authz"
	_ "github.com/signet-platform/signet/internal/store/sqlstore" // the sqlite driver, for the tamper
)

// fixedToken is a credential that always presents one token, so the test
// knows the uti of the token the data plane saw.
type fixedToken struct{ tok azcore.AccessToken }

func (f fixedToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return f.tok, nil
}

// TestAuditTrail follows a token from issue to use and checks tamper
// evidence end to end: a real server issues a vault token, the official
// azsecrets client uses it, the CLI finds the token's sign-in and its
// accesses by its uti; then the server is stopped, one sign-in record is
// edited by raw SQL in the SQLite file, and after a restart `signet logs
// verify` fails naming that record.
func TestAuditTrail(t *testing.T) {
	dataDir := t.TempDir()
	s := startSignet(t, dataDir, onFreeVaultPort)
	ctx := ctxT(t)
	s.createVault(t, "audit-vault", nil)
	vault := s.vaultPath("audit-vault")
	s.grantRole(t, s.Dev.ObjectID, authz.KeyVaultSecretsOfficerRoleID, vault)

	// A vault token with a known uti.
	tok := getToken(t, s.adminCredential(t), "https://vault.azure.net/.default")
	uti := s.verifyWithDiscovery(t, tok.Token).UTI
	if uti == "" {
		t.Fatal("the vault token has no uti")
	}
	kv := s.secretsClient(t, "audit-vault", fixedToken{tok})
	if _, err := kv.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("s3cret")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.GetSecret(ctx, "db-password", "", nil); err != nil {
		t.Fatal(err)
	}

	// From the token's uti to its sign-in ...
	var signIns []struct {
		ID, PrincipalID, Resource, Result, TokenID string
		Seq                                        int64
	}
	s.mustCLI(t, &signIns, "logs", "signins", "--token-id", uti, "--since", "1h")
	if len(signIns) != 1 || signIns[0].PrincipalID != s.Dev.ObjectID || signIns[0].Result != "success" ||
		!strings.Contains(signIns[0].Resource, "vault.azure.net") {
		t.Fatalf("sign-ins of token %s = %+v, want the one that issued it to the admin for the vault", uti, signIns)
	}
	// ... and to every access made with it, and nothing else.
	var accesses []struct{ Action, ResourceID, Item, Result, TokenID string }
	s.mustCLI(t, &accesses, "logs", "access", "--token-id", uti, "--resource", vault)
	var actions []string
	for _, a := range accesses {
		if a.TokenID != uti || !strings.EqualFold(a.ResourceID, vault) {
			t.Errorf("access %+v: want token %s on %s", a, uti, vault)
		}
		actions = append(actions, a.Action)
	}
	if len(accesses) < 2 || !strings.Contains(strings.Join(actions, " "), "getSecret") ||
		!strings.Contains(strings.Join(actions, " "), "setSecret") {
		t.Errorf("accesses with token %s = %v, want the set and the get", uti, actions)
	}

	// Untouched: verify passes; the export holds every sign-in.
	if out, stderr, code := s.runCLI(t, "logs", "verify"); code != 0 {
		t.Fatalf("logs verify on an untouched store: exit %d: %s %s", code, out, stderr)
	}
	export, stderr, code := s.runCLI(t, "logs", "export", "--stream", "signins")
	if code != 0 {
		t.Fatalf("logs export: exit %d: %s", code, stderr)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(export), "\n") {
		var rec struct{ ID string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		found = found || rec.ID == signIns[0].ID
	}
	if !found {
		t.Errorf("the export lacks sign-in %s", signIns[0].ID)
	}

	// Tamper while the server is stopped: turn the sign-in into a failure.
	s.Close()
	db, err := sql.Open("sqlite", dataDir+"/signet.db")
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.ExecContext(ctx, "UPDATE sign_ins SET result = 'failure' WHERE token_id = ?", uti)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper changed %d rows, want 1", n)
	}
	db.Close()

	s2 := startSignet(t, dataDir, onFreeVaultPort)
	out, stderr, code := s2.runCLI(t, "logs", "verify")
	if code != 1 {
		t.Fatalf("logs verify after tampering: exit %d, want 1; stdout %s", code, out)
	}
	if want := "record seq " + itoa64(signIns[0].Seq) + " (id " + signIns[0].ID + "): altered"; !strings.Contains(stderr, want) {
		t.Errorf("logs verify said %q, want it to name %q", stderr, want)
	}
	var report map[string]struct {
		OK       bool
		FirstBad *struct {
			Seq int64
			ID  string
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("verify output %q: %v", out, err)
	}
	if r := report["signins"]; r.OK || r.FirstBad == nil || r.FirstBad.ID != signIns[0].ID || !report["access"].OK {
		t.Errorf("verify report %+v, want signins broken at %s and access intact", report, signIns[0].ID)
	}
}

func itoa64(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
