package cli

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/signet-platform/signet/client"
)

// vaultURLVar names a vault URL a workload was given (e.g. by its
// deployment); the CLI uses it for the vault it names.
const vaultURLVar = "SIGNET_VAULT_URL"

// vaultFlags adds the flags every secret command shares and returns a
// function that, once they are parsed, resolves the vault and whose token
// to present to it.
func (a *app) vaultFlags(fs *flag.FlagSet) func() (*client.VaultClient, error) {
	name := fs.String("vault-name", "", "vault name")
	vaultURL := fs.String("vault-url", "", "vault URL (default: $"+vaultURLVar+" when it names --vault-name, else looked up)")
	group := fs.String("group", "", "the vault's resource group, to look its URL up (default: search the subscription)")
	identity := fs.Bool("identity", false, "act as this host's (or app's) managed identity, through the local agent")
	clientID := fs.String("client-id", "", "with --identity: the user-assigned identity's client id")
	objectID := fs.String("object-id", "", "with --identity: the user-assigned identity's object (principal) id")
	resourceID := fs.String("resource-id", "", "with --identity: the user-assigned identity's resource id")
	return func() (*client.VaultClient, error) {
		if *name == "" && *vaultURL == "" {
			return nil, usagef("--vault-name (or --vault-url) is required")
		}
		sel, err := identitySelector(*clientID, *objectID, *resourceID)
		if err != nil {
			return nil, err
		}
		if sel.kind != selectSystem && !*identity {
			return nil, usagef("--client-id, --object-id and --resource-id need --identity")
		}
		getenv, err := a.lookupEnv()
		if err != nil {
			return nil, err
		}
		u, err := a.resolveVaultURL(getenv, *name, *vaultURL, *group)
		if err != nil {
			return nil, err
		}
		var tokens client.TokenSource
		if *identity {
			tokens = newManagedIdentitySource(getenv, sel)
		} else {
			c, err := a.api()
			if err != nil {
				return nil, err
			}
			tokens = c
		}
		return client.NewVaultClient(u, tokens, client.VaultOptions{CAFile: getenv(client.EnvCAFile)})
	}
}

// resolveVaultURL picks the vault's URL: --vault-url, else $SIGNET_VAULT_URL
// when it names the same vault, else the vault resource's vaultUri from the
// control plane (as the configured principal: the URL is not a secret, and
// a managed identity allowed to read secrets need not be allowed to read
// the vault resource).
func (a *app) resolveVaultURL(getenv func(string) string, name, flagURL, group string) (string, error) {
	if flagURL != "" {
		if name != "" && !strings.EqualFold(vaultNameOf(flagURL), name) {
			return "", usagef("--vault-url %s is not the vault %s", flagURL, name)
		}
		return flagURL, nil
	}
	if env := getenv(vaultURLVar); env != "" && strings.EqualFold(vaultNameOf(env), name) {
		return env, nil
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return "", fmt.Errorf("looking the vault's URL up: %w (or give --vault-url)", err)
	}
	var v client.Vault
	if group != "" {
		if v, err = c.GetVault(a.ctx, group, name); err != nil {
			return "", err
		}
	} else {
		vs, err := c.ListVaults(a.ctx, "")
		if err != nil {
			return "", err
		}
		found := false
		for _, cand := range vs {
			if strings.EqualFold(cand.Name, name) {
				v, found = cand, true
				break
			}
		}
		if !found {
			return "", fmt.Errorf("no vault named %s in subscription %s", name, c.SubscriptionID())
		}
	}
	if v.Properties.VaultURI == "" {
		return "", fmt.Errorf("vault %s has no vaultUri", name)
	}
	return v.Properties.VaultURI, nil
}

// vaultNameOf is the vault a URL addresses: the first label of a
// host-style URL (https://kv1.vault.localhost:8446/), or the path of a
// path-style one (https://127.0.0.1:8446/kv1).
func vaultNameOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return p
	}
	label, _, _ := strings.Cut(u.Hostname(), ".")
	return label
}

// maxSecretValue is Key Vault's limit on a value; a bigger file is refused
// before it is read whole or sent.
const maxSecretValue = 25 * 1024

// secretValue reads the value from --value or --file ("-" for stdin).
func (a *app) secretValue(value string, valueSet bool, file string) (string, error) {
	switch {
	case valueSet && file != "":
		return "", usagef("give --value or --file, not both")
	case valueSet:
		return value, nil
	case file == "":
		return "", usagef("--value or --file is required")
	}
	var r io.Reader = a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretValue+1))
	if err != nil {
		return "", fmt.Errorf("reading the value: %w", err)
	}
	if len(b) > maxSecretValue {
		return "", fmt.Errorf("the value in %s is larger than Key Vault's limit of %d bytes", file, maxSecretValue)
	}
	// A value travels as a JSON string: bytes that are not UTF-8 would be
	// replaced on the way, and the secret silently changed.
	if !utf8.Valid(b) {
		return "", fmt.Errorf("the value in %s is not UTF-8 text (encode binary data, e.g. with base64, first)", file)
	}
	return string(b), nil
}

// parseTags reads --tags k=v ... (a bare k is an empty value, as az has it).
func parseTags(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	tags := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, usagef("invalid tag %q (want key=value)", kv)
		}
		tags[k] = v
	}
	return tags, nil
}

// printSecrets prints secrets without their values: only `secret show`
// prints a value, through printSecretValue.
func (a *app) printSecrets(asList bool, ss ...client.Secret) error {
	out := make([]client.Secret, 0, len(ss))
	deleted := false
	for _, s := range ss {
		out = append(out, s.WithoutValue())
		deleted = deleted || s.RecoveryID != ""
	}
	var jv any = out
	if !asList && len(out) == 1 {
		jv = out[0]
	}
	return a.emit(jv, func(w io.Writer) error {
		header := []string{"NAME", "VERSION", "ENABLED", "CONTENT TYPE", "NOT BEFORE", "EXPIRES", "UPDATED"}
		if deleted {
			header = append(header, "DELETED", "SCHEDULED PURGE")
		}
		t := newTable(w, header...)
		for _, s := range out {
			at := s.Attributes
			enabled := ""
			if at.Enabled != nil {
				enabled = fmt.Sprint(*at.Enabled)
			}
			row := []string{s.Name, s.Version, enabled, s.ContentType, formatTime(at.NotBefore.Time), formatTime(at.Expires.Time), formatTime(at.Updated.Time)}
			if deleted {
				row = append(row, formatTime(s.DeletedDate.Time), formatTime(s.ScheduledPurgeDate.Time))
			}
			t.row(row...)
		}
		return t.flush()
	})
}
