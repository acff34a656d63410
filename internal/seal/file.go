package seal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxKeyFile bounds what LoadFile reads: a key file is ~45 bytes.
const maxKeyFile = 4 << 10

// LoadFile reads a key file written by LoadOrCreateFile (or by an operator).
// It refuses a file that group or others may access: a master key readable by
// other users is no longer a secret.
func LoadFile(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: open master key file: %w", err)
	}
	defer f.Close()
	// Check the mode of the file we opened, not of whatever the path names now.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: stat master key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: master key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("seal: master key file %s has mode %04o, which lets group or others access it; run chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("seal: read master key file: %w", err)
	}
	defer clear(b)
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("seal: master key file %s is larger than %d bytes; is it the right file?", path, maxKeyFile)
	}
	k, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return k, nil
}

// LoadOrCreateFile loads the key at path, or, when there is no file there,
// creates a new random key in it (mode 0600, missing directories 0700).
// created reports whether the key is new. Two processes racing on an empty
// path end up with the same key: the file appears atomically and the loser
// loads the winner's.
func LoadOrCreateFile(path string) (k *Key, created bool, err error) {
	k, err = LoadFile(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("seal: create directory for master key: %w", err)
	}
	k, err = NewRandomKey()
	if err != nil {
		return nil, false, err
	}
	// Write a temporary file and hard-link it into place: the key file is
	// never seen half-written, and an existing file is never replaced.
	tmp, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("seal: create master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("seal: create master key file: %w", err)
	}
	if _, err := tmp.WriteString(k.Encode() + "\n"); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("seal: write master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("seal: write master key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("seal: write master key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			k, err := LoadFile(path)
			return k, false, err
		}
		return nil, false, fmt.Errorf("seal: create master key file: %w", err)
	}
	return k, true, nil
}
