package content

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func TestInlineRoundTrip(t *testing.T) {
	k := key(t)
	for _, size := range []int{0, 1, 4096, 64 << 10} {
		data := make([]byte, size)
		rand.Read(data)
		sealed, err := SealInline(k, data, "acct", "box", "a/b")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(sealed), size+InlineOverhead; got != want {
			t.Errorf("size %d: sealed %d bytes, want %d", size, got, want)
		}
		got, err := OpenInline(k, sealed, "acct", "box", "a/b")
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("size %d: OpenInline = %d bytes, %v; want the bytes sealed", size, len(got), err)
		}
	}
}

func TestInlineBoundToKeyIdentityAndBytes(t *testing.T) {
	k := key(t)
	pattern := []byte("SIGNET-INLINE-CANARY")
	sealed, err := SealInline(k, pattern, "acct", "box", "ab")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, pattern) {
		t.Fatal("plaintext visible in sealed inline content")
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name     string
		key      []byte
		sealed   []byte
		identity []string
	}{
		{"other blob", k, sealed, []string{"acct", "box", "ac"}},
		{"parts shifted", k, sealed, []string{"acct", "boxa", "b"}},
		{"other account", k, sealed, []string{"acct2", "box", "ab"}},
		{"wrong key", bytes.Repeat([]byte{7}, KeySize), sealed, []string{"acct", "box", "ab"}},
		{"flipped salt", k, flip(10), []string{"acct", "box", "ab"}},
		{"flipped ciphertext", k, flip(headerSize + 2), []string{"acct", "box", "ab"}},
		{"flipped magic", k, flip(0), []string{"acct", "box", "ab"}},
		{"truncated", k, sealed[:len(sealed)-1], []string{"acct", "box", "ab"}},
		{"too short", k, sealed[:InlineOverhead-1], []string{"acct", "box", "ab"}},
	}
	for _, tc := range tests {
		if _, err := OpenInline(tc.key, tc.sealed, tc.identity...); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: OpenInline = %v, want ErrCorrupt", tc.name, err)
		}
	}
	// Two sealings of the same bytes differ (fresh salt, fresh key).
	again, _ := SealInline(k, pattern, "acct", "box", "ab")
	if bytes.Equal(again, sealed) {
		t.Error("sealing twice gave identical output")
	}
}
