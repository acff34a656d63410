package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

func TestSmoke(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateTenant(store.Tenant{ID: "T1", DisplayName: "x", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.CreatePrincipal(store.Principal{ObjectID: "o", ClientID: "c", TenantID: "T1", Enabled: true}); err != nil {
			return err
		}
		return tx.MarkAssertionUsed("i", "j", time.Now().Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Read(ctx, func(tx store.Tx) error {
		t.Log(tx.GetTenant("t1"))
		t.Log(tx.GetPrincipal("O"))
		t.Log(tx.MarkAssertionUsed("i", "j", time.Now().Add(time.Hour)))
		t.Log(tx.ListRoleAssignments(store.RoleAssignmentFilter{AboveScope: "/subscriptions/a/resourceGroups/b"}))
		return nil
	})
	s.Write(ctx, func(tx store.Tx) error {
		t.Log(tx.MarkAssertionUsed("i", "j", time.Now().Add(time.Hour)))
		return nil
	})
}
