package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/store"
)

// DevBootstrap is what `signet dev` creates on first start and finds again on
// every later start. It is kept in DataDir/admin.json (0600): the client
// secret exists nowhere else in plaintext.
type DevBootstrap struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ResourceGroup  string `json:"resourceGroup"`
	ClientID       string `json:"clientId"`
	ObjectID       string `json:"objectId"`
	ClientSecret   string `json:"clientSecret"`
}

const devResourceGroup = "signet-dev"

// bootstrapDev makes sure the dev tenant, subscription, resource group and
// admin principal exist, with Owner on the subscription (and at the root
// scope, for tenant-wide operations such as key rotation).
func bootstrapDev(ctx context.Context, st store.Store, cfg Config) (*DevBootstrap, error) {
	path := filepath.Join(cfg.DataDir, "admin.json")
	var b DevBootstrap
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("%s is damaged: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		b = DevBootstrap{TenantID: directory.NewID(), SubscriptionID: directory.NewID(), ResourceGroup: devResourceGroup}
	default:
		return nil, err
	}
	now := cfg.Now().UTC()
	needSecret := b.ClientSecret == ""
	var secret, hint string
	if needSecret {
		if secret, hint, err = directory.GenerateSecret(); err != nil {
			return nil, err
		}
	}
	err = st.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTenant(b.TenantID); errors.Is(err, store.ErrNotFound) {
			if err := tx.CreateTenant(store.Tenant{ID: b.TenantID, DisplayName: "Signet dev", CreatedAt: now}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if _, err := tx.GetSubscription(b.SubscriptionID); errors.Is(err, store.ErrNotFound) {
			if err := tx.CreateSubscription(store.Subscription{ID: b.SubscriptionID, TenantID: b.TenantID, DisplayName: "Signet dev", State: "Enabled", CreatedAt: now}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if _, err := tx.GetResourceGroup(b.SubscriptionID, b.ResourceGroup); errors.Is(err, store.ErrNotFound) {
			if err := tx.PutResourceGroup(store.ResourceGroup{SubscriptionID: b.SubscriptionID, Name: b.ResourceGroup, Location: "local", CreatedAt: now}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		admin, err := tx.GetPrincipal(b.ObjectID)
		if errors.Is(err, store.ErrNotFound) || b.ObjectID == "" {
			admin = directory.NewServicePrincipal(b.TenantID, "signet-admin", now)
			if err := tx.CreatePrincipal(admin); err != nil {
				return err
			}
			needSecret = true
		} else if err != nil {
			return err
		}
		if needSecret {
			if secret == "" {
				if secret, hint, err = directory.GenerateSecret(); err != nil {
					return err
				}
			}
			cred := store.Credential{
				ID: directory.NewID(), PrincipalID: admin.ObjectID, Kind: store.CredentialSecret,
				SecretHash: directory.HashSecret(secret), Hint: hint,
				NotBefore: now, NotAfter: now.AddDate(10, 0, 0), CreatedAt: now,
			}
			if err := tx.CreateCredential(cred); err != nil {
				return err
			}
			b.ClientSecret = secret
		}
		b.ObjectID, b.ClientID = admin.ObjectID, admin.ClientID
		for _, scope := range []string{"/subscriptions/" + b.SubscriptionID, "/"} {
			err := tx.CreateRoleAssignment(store.RoleAssignment{
				ID: directory.NewID(), Scope: scope, RoleDefinitionID: authz.OwnerRoleID,
				PrincipalID: admin.ObjectID, PrincipalType: "ServicePrincipal",
				Description: "signet dev bootstrap", CreatedAt: now, CreatedBy: "signet dev",
			})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, append(out, '\n'), 0o600); err != nil {
		return nil, err
	}
	return &b, nil
}

// envLines are the variables programs and SDKs need to use this Signet.
// The admin's credentials are deliberately SIGNET_CLIENT_*, not
// AZURE_CLIENT_*, so DefaultAzureCredential still reaches managed identity.
func envLines(r *Running, b *DevBootstrap) map[string]string {
	return map[string]string{
		"SIGNET_URL":             r.ARMURL,
		"AZURE_AUTHORITY_HOST":   r.STSURL,
		"AZURE_TENANT_ID":        b.TenantID,
		"SIGNET_SUBSCRIPTION_ID": b.SubscriptionID,
		"SIGNET_RESOURCE_GROUP":  b.ResourceGroup,
		"SIGNET_CLIENT_ID":       b.ClientID,
		"SIGNET_CLIENT_SECRET":   b.ClientSecret,
		"SSL_CERT_FILE":          r.BundleFile,
		"NODE_EXTRA_CA_CERTS":    r.CAFile,
		"REQUESTS_CA_BUNDLE":     r.BundleFile,
	}
}

// writeEnvFile writes `export NAME='value'` lines, sorted, 0600 (it holds
// the admin's secret).
func writeEnvFile(path string, vars map[string]string) error {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.WriteString("# Written by `signet dev`. Use: . ./env (or eval \"$(cat env)\")\n")
	for _, n := range names {
		fmt.Fprintf(&sb, "export %s=%s\n", n, shellQuote(vars[n]))
	}
	return writeFileAtomic(path, []byte(sb.String()), 0o600)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
