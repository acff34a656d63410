package secrets

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/signet-platform/signet/internal/seal"
)

// appendValueAD makes the bytes valueAD always made.
func TestValueAD(t *testing.T) {
	for _, tt := range []struct{ vault, name, version string }{
		{"kv1", "db", "0123456789abcdef0123456789abcdef"},
		{"KV-One", "My-Secret", ""},
		{"kv1", "\u212aelvin", "v"}, // strings.ToLower folds the Kelvin sign to "k"
		{"kv1", "Ünïcode", "v"},
		{"", "", ""},
	} {
		want := []byte("keyvault-secret\x00" + strings.ToLower(tt.vault) + "\x00" + strings.ToLower(tt.name) + "\x00" + tt.version)
		if got := valueAD(tt.vault, tt.name, tt.version); !bytes.Equal(got, want) {
			t.Errorf("valueAD(%q, %q, %q) = %q, want %q", tt.vault, tt.name, tt.version, got, want)
		}
		if got := appendValueAD([]byte("x"), tt.vault, tt.name, tt.version); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("appendValueAD(x, %q, %q, %q) = %q, want x%q", tt.vault, tt.name, tt.version, got, want)
		}
	}
}

// countingSealer counts how often the master key opens a data key.
type countingSealer struct {
	*seal.Key
	opens int
}

func (c *countingSealer) Open(sealed, ad []byte) ([]byte, error) {
	c.opens++
	return c.Key.Open(sealed, ad)
}

// A data key is unwrapped once per vault and served again only for the
// very same sealed bytes: a vault re-created under its name, with a new
// data key, gets the new key; a sealed key of another master key fails.
func TestDataKeysServeOnlyTheSameSealedKey(t *testing.T) {
	key, err := seal.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	master := &countingSealer{Key: key}
	var d dataKeys
	first, err := newDataKey(master, "kv1")
	if err != nil {
		t.Fatal(err)
	}
	k1, err := d.get(master, "kv1", first)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k1.Seal([]byte("v"), valueAD("kv1", "db", "1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kv1", "KV1"} {
		got, err := d.get(master, name, bytes.Clone(first))
		if err != nil || got != k1 {
			t.Errorf("get(%s, the same sealed key) = %p, %v; want the cached key %p", name, got, err, k1)
		}
	}
	if master.opens != 1 {
		t.Errorf("master key opened %d data keys, want 1", master.opens)
	}

	second, err := newDataKey(master, "kv1") // the vault deleted and created again
	if err != nil {
		t.Fatal(err)
	}
	k2, err := d.get(master, "kv1", second)
	if err != nil {
		t.Fatal(err)
	}
	if k2 == k1 || master.opens != 2 {
		t.Errorf("re-created vault: got the old key (%v) or no unwrap (%d opens)", k2 == k1, master.opens)
	}
	if _, err := k2.Open(sealed, valueAD("kv1", "db", "1")); err == nil {
		t.Error("the re-created vault's key opens the old vault's value")
	}

	other, err := seal.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := newDataKey(other, "kv1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.get(master, "kv1", foreign); !errors.Is(err, errWrongMasterKey) {
		t.Errorf("get(a data key of another master key) = %v, want errWrongMasterKey", err)
	}
}
