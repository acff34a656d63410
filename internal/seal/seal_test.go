package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustKey(t *testing.T) *Key {
	t.Helper()
	k, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := mustKey(t)
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("pkcs8"), 1000)} {
		sealed, err := k.Seal(pt, []byte("signing-key:k1"))
		if err != nil {
			t.Fatal(err)
		}
		// Only a plaintext long enough not to occur in random bytes by
		// chance says anything (a 1-byte one shows up ~1 run in 8).
		if len(pt) >= 16 && bytes.Contains(sealed, pt) {
			t.Fatal("sealed value contains the plaintext")
		}
		got, err := k.Open(sealed, []byte("signing-key:k1"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	k := mustKey(t)
	a, _ := k.Seal([]byte("same"), nil)
	b, _ := k.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal: nonce not random")
	}
}

func TestOpenRefuses(t *testing.T) {
	k := mustKey(t)
	other := mustKey(t)
	ad := []byte("signing-key:k1")
	sealed, err := k.Seal([]byte("secret key bytes"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name   string
		key    *Key
		sealed []byte
		ad     []byte
	}{
		{"wrong key", other, sealed, ad},
		{"swapped additional data", k, sealed, []byte("signing-key:k2")},
		{"missing additional data", k, sealed, nil},
		{"truncated", k, sealed[:len(sealed)-1], ad},
		{"only header", k, sealed[:5], ad},
		{"empty", k, nil, ad},
		{"version changed", k, flip(0), ad},
		{"nonce tampered", k, flip(3), ad},
		{"ciphertext tampered", k, flip(20), ad},
		{"tag tampered", k, flip(len(sealed) - 1), ad},
		{"extended", k, append(bytes.Clone(sealed), 0), ad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.key.Open(tt.sealed, tt.ad)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %q, %v; want ErrOpen", got, err)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	k := mustKey(t)
	good := k.Encode()
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{"canonical", good, ""},
		{"surrounding whitespace", "  \n" + good + "\r\n\t", ""},
		{"empty", "  \n", "empty"},
		{"not base64", "not*base64!", "not standard base64"},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 16))), "not standard base64"},
		{"16 bytes", base64.StdEncoding.EncodeToString(make([]byte, 16)), "16 bytes, want 32"},
		{"33 bytes", base64.StdEncoding.EncodeToString(make([]byte, 33)), "33 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKey([]byte(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKey error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Encode() != good || got.Fingerprint() != k.Fingerprint() {
				t.Fatal("parsed key differs from the encoded one")
			}
			sealed, _ := k.Seal([]byte("v"), nil)
			if _, err := got.Open(sealed, nil); err != nil {
				t.Fatalf("parsed key cannot open: %v", err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	k, other := mustKey(t), mustKey(t)
	fp := k.Fingerprint()
	if len(fp) != 16 {
		t.Errorf("len(Fingerprint) = %d, want 16", len(fp))
	}
	if fp == other.Fingerprint() {
		t.Error("two keys have the same fingerprint")
	}
	if strings.Contains(k.Encode(), fp) {
		t.Error("fingerprint is part of the key")
	}
}

func TestLoadOrCreateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")
	k, created, err := LoadOrCreateFile(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateFile = %v, %v; want created", created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("file mode = %04o, want %04o", got, want)
	}
	dinfo, _ := os.Stat(filepath.Dir(path))
	if got, want := dinfo.Mode().Perm(), os.FileMode(0o700); got != want {
		t.Errorf("dir mode = %04o, want %04o", got, want)
	}
	again, created, err := LoadOrCreateFile(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateFile = %v, %v; want loaded", created, err)
	}
	if again.Encode() != k.Encode() {
		t.Fatal("second load returned a different key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, _, err := LoadOrCreateFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k.Encode()
		})
	}
	wg.Wait()
	for i := range keys {
		if keys[i] != keys[0] {
			t.Fatal("racing creators ended with different keys")
		}
	}
}

func TestLoadFileRefusesSharedFile(t *testing.T) {
	k := mustKey(t)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o620} {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte(k.Encode()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadFile(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: LoadFile error = %v, want a refusal naming chmod 600", mode, err)
		}
		if _, _, err := LoadOrCreateFile(path); err == nil {
			t.Errorf("mode %04o: LoadOrCreateFile accepted the file", mode)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("hello"), 0o600)
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadFile(garbage) error = %v, want one naming the file", err)
	}
	if _, err := LoadFile(dir); err == nil {
		t.Error("LoadFile(directory) succeeded")
	}
	if _, err := LoadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) error = %v, want ErrNotExist", err)
	}
}
