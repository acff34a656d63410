package enroll

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadNotEnrolled(t *testing.T) {
	a := &Agent{StateDir: t.TempDir()}
	if err := a.Load(); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("Load of an empty state directory: %v, want ErrNotEnrolled", err)
	}
	if got := a.Identities(""); got != nil {
		t.Errorf("Identities before enrollment = %v, want nil", got)
	}
}

// Client ids name files: anything that could leave the state directory is
// refused.
func TestFileName(t *testing.T) {
	tests := []struct {
		clientID string
		want     string
		ok       bool
	}{
		{"0C000000-0000-4000-8000-0000000000A1", "0c000000-0000-4000-8000-0000000000a1", true},
		{"../node-key", "", false},
		{"a/b", "", false},
		{"", "", false},
		{".", "", false},
		{"x\x00y", "", false},
		{string(make([]byte, 65)), "", false},
	}
	for _, tc := range tests {
		got, ok := fileName(tc.clientID)
		if got != tc.want || ok != tc.ok {
			t.Errorf("fileName(%q) = %q, %v; want %q, %v", tc.clientID, got, ok, tc.want, tc.ok)
		}
	}
}

func TestStateFilesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ensureDir(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "k.pem")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", p, got, want)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content %q, want %q", b, "new")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries in the state directory, want 1 (no temporary files left)", len(entries))
	}
}
