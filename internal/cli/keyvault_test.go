package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const vaultPath = "/subscriptions/" + fakeSub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"

// fillVaultURI makes the ARM fake answer a vault PUT as the server does:
// the vault URL filled in. (The fake has read the body and holds its lock
// while a route runs.)
func fillVaultURI(f *armFake) {
	f.routes["PUT "+vaultPath] = func(w http.ResponseWriter, r *http.Request) {
		obj := map[string]any{}
		json.Unmarshal([]byte(f.requests[len(f.requests)-1].Body), &obj)
		props, _ := obj["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		props["vaultUri"] = "https://kv1.vault.localhost:8446/"
		obj["properties"] = props
		writeFakeJSON(w, 201, f.store(r.URL.Path, obj))
	}
}

func TestKeyVaultCreate(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantProps map[string]any
	}{
		{"defaults", nil, map[string]any{}},
		{"retention and purge protection", []string{"--retention-days", "7", "--enable-purge-protection"},
			map[string]any{"softDeleteRetentionInDays": float64(7), "enablePurgeProtection": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newARMFake(t)
			f.put("/subscriptions/"+fakeSub+"/resourceGroups/rg", map[string]any{"location": "westeurope"})
			fillVaultURI(f)
			out := mustRun(t, f.env(), append([]string{"keyvault", "create", "--group", "rg", "--name", "kv1", "--output", "json"}, tt.args...)...)
			f.mu.Lock()
			var body map[string]any
			for _, r := range f.requests {
				if r.Method == http.MethodPut {
					json.Unmarshal([]byte(r.Body), &body)
				}
			}
			f.mu.Unlock()
			want := map[string]any{"location": "westeurope", "properties": tt.wantProps}
			if diff := cmp.Diff(want, body); diff != "" {
				t.Errorf("PUT body (-want +got):\n%s", diff)
			}
			var got struct {
				Properties struct{ VaultURI string } `json:"properties"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil || got.Properties.VaultURI != "https://kv1.vault.localhost:8446/" {
				t.Errorf("output %q: want the vault with its vaultUri (%v)", out, err)
			}
		})
	}
}

func TestKeyVaultUsage(t *testing.T) {
	f := newARMFake(t)
	for _, args := range [][]string{
		{"keyvault", "create", "--group", "rg"},
		{"keyvault", "create", "--group", "rg", "--name", "kv1", "--retention-days", "6"},
		{"keyvault", "create", "--group", "rg", "--name", "kv1", "--retention-days", "91"},
		{"keyvault", "show", "--name", "kv1"},
	} {
		if res := run(t, f.env(), args...); res.code != exitUsage {
			t.Errorf("signet %s: exit %d (%q), want a usage error", strings.Join(args, " "), res.code, res.stderr)
		}
	}
	if n := len(f.armRequests()); n != 0 {
		t.Errorf("usage errors sent %d requests", n)
	}
}

func TestKeyVaultListShowDelete(t *testing.T) {
	f := newARMFake(t)
	f.put(vaultPath, map[string]any{"location": "local", "properties": map[string]any{
		"vaultUri": "https://kv1.vault.localhost:8446/", "softDeleteRetentionInDays": 30, "enablePurgeProtection": true}})
	env := f.env()

	got := mustRun(t, env, "keyvault", "list", "--output", "table")
	want := "NAME  GROUP  LOCATION  VAULT URI                          RETENTION DAYS  PURGE PROTECTION\n" +
		"kv1   rg     local     https://kv1.vault.localhost:8446/  30              true\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keyvault list (-want +got):\n%s", diff)
	}
	var shown map[string]any
	json.Unmarshal([]byte(mustRun(t, env, "keyvault", "show", "--group", "rg", "--name", "kv1", "--output", "json")), &shown)
	if shown["id"] != vaultPath {
		t.Errorf("keyvault show: %v", shown)
	}
	mustRun(t, env, "keyvault", "delete", "--group", "rg", "--name", "kv1")
	if res := run(t, env, "keyvault", "show", "--group", "rg", "--name", "kv1"); res.code != exitError || !strings.Contains(res.stderr, "ResourceNotFound") {
		t.Errorf("show after delete: exit %d stderr %q", res.code, res.stderr)
	}
}
