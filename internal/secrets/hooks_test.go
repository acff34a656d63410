package secrets

import (
	"encoding/json"
	"strings"
	"testing"
)

// A vault's vaultUri is the data plane's as it runs now: not stored at
// PUT, where it would keep the port of that run, but reported on every
// read (arm.Presenter), including over a value an older Signet stored.
func TestVaultURIIsTheDeployments(t *testing.T) {
	f := newFixture(t)
	res := f.createVault("kv1", `{"vaultUri":"https://kv1.vault.localhost:1/"}`)
	if strings.Contains(string(res.Properties), "vaultUri") {
		t.Errorf("stored properties %s hold a vaultUri", res.Properties)
	}
	for _, port := range []string{f.port, "9443", "443"} {
		f.srv.PublicPort = port
		props := map[string]json.RawMessage{"vaultUri": json.RawMessage(`"https://kv1.vault.localhost:1/"`)}
		if err := f.srv.Present(res, props); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := json.Unmarshal(props["vaultUri"], &got); err != nil || got != f.srv.VaultURL("kv1") {
			t.Errorf("port %s: vaultUri %s (%v), want %s", port, props["vaultUri"], err, f.srv.VaultURL("kv1"))
		}
	}
}
