package content

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const account = "acct-1"

func newStore(t *testing.T) *Store {
	return &Store{Dir: t.TempDir(), ChunkLog2: 10} // 1 KiB chunks: many chunk boundaries in small tests
}

func key(t *testing.T) []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

func put(t *testing.T, s *Store, k, data []byte, viaReadFrom bool) string {
	t.Helper()
	w, err := s.Create(account, k)
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	w.HashTo(h)
	if viaReadFrom {
		_, err = w.ReadFrom(bytes.NewReader(data))
	} else {
		// Odd-sized writes cross chunk boundaries at every offset.
		for p := data; len(p) > 0 && err == nil; {
			n := min(len(p), 777)
			_, err = w.Write(p[:n])
			p = p[n:]
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if want := md5.Sum(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Errorf("%d bytes: HashTo saw other bytes than were written", len(data))
	}
	return w.ID()
}

func readRange(t *testing.T, s *Store, k []byte, id string, off, n int64) ([]byte, error) {
	t.Helper()
	f, err := s.Open(account, id, k)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	err = f.WriteRange(&b, off, n)
	return b.Bytes(), err
}

func TestRoundTripAndRanges(t *testing.T) {
	s, k := newStore(t), key(t)
	for _, size := range []int{0, 1, 1023, 1024, 1025, 2048, 5000} {
		data := make([]byte, size)
		rand.Read(data)
		for _, rf := range []bool{false, true} {
			id := put(t, s, k, data, rf)
			f, err := s.Open(account, id, k)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Size(); got != int64(size) {
				t.Errorf("size %d (ReadFrom %v): Size() = %d", size, rf, got)
			}
			f.Close()
			ranges := [][2]int64{{0, int64(size)}, {0, 0}}
			if size > 2 {
				ranges = append(ranges, [2]int64{1, int64(size) - 2}, [2]int64{int64(size) - 1, 1})
			}
			if size > 1100 {
				ranges = append(ranges, [2]int64{1000, 100}, [2]int64{1024, 1})
			}
			for _, r := range ranges {
				got, err := readRange(t, s, k, id, r[0], r[1])
				if err != nil {
					t.Fatalf("size %d range %v: %v", size, r, err)
				}
				if want := data[r[0] : r[0]+r[1]]; !bytes.Equal(got, want) {
					t.Errorf("size %d range %v: got %d bytes, not the ones written", size, r, len(got))
				}
			}
			if _, err := readRange(t, s, k, id, 0, int64(size)+1); err == nil {
				t.Errorf("size %d: a range past the end was accepted", size)
			}
		}
	}
}

func TestPlaintextNeverOnDisk(t *testing.T) {
	s, k := newStore(t), key(t)
	pattern := bytes.Repeat([]byte("SIGNET-KNOWN-PATTERN-"), 500)
	put(t, s, k, pattern, true)
	w, _ := s.Create(account, k)
	w.Write(pattern) // left uncommitted: its temporary file must not leak either
	defer w.Abort()
	filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("KNOWN-PATTERN")) {
			t.Errorf("plaintext found in %s", p)
		}
		return nil
	})
}

func TestTamperingIsDetected(t *testing.T) {
	data := make([]byte, 3000)
	rand.Read(data)
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *Store, id, other string) string // returns the id to read
		key    func(k []byte) []byte
	}{
		{"flipped byte", func(t *testing.T, s *Store, id, _ string) string {
			p, _ := s.path(account, id)
			b, _ := os.ReadFile(p)
			b[headerSize+1500] ^= 1
			os.WriteFile(p, b, 0o600)
			return id
		}, nil},
		{"last chunk dropped", func(t *testing.T, s *Store, id, _ string) string {
			p, _ := s.path(account, id)
			os.Truncate(p, headerSize+2*(1024+tagSize))
			return id
		}, nil},
		{"file moved to another id", func(t *testing.T, s *Store, id, other string) string {
			p, _ := s.path(account, id)
			q, _ := s.path(account, other)
			os.Rename(p, q)
			return other
		}, nil},
		{"wrong key", func(t *testing.T, s *Store, id, _ string) string { return id },
			func(k []byte) []byte { return bytes.Repeat([]byte{7}, KeySize) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, k := newStore(t), key(t)
			id := put(t, s, k, data, true)
			other := put(t, s, k, data[:10], true)
			readID := tc.tamper(t, s, id, other)
			if tc.key != nil {
				k = tc.key(k)
			}
			f, err := s.Open(account, readID, k)
			if err == nil {
				var b bytes.Buffer
				err = f.WriteRange(&b, 0, f.Size())
				f.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("reading a tampered file: got %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestSweepRemovesTemporaryAndUnreferencedFiles(t *testing.T) {
	s, k := newStore(t), key(t)
	keep := put(t, s, k, []byte("keep"), true)
	drop := put(t, s, k, []byte("drop"), true)
	w, _ := s.Create(account, k)
	w.Write([]byte("never committed"))
	w.f.Close() // as if the process died here
	n, err := s.Sweep(account, func(id string) bool { return id == keep })
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2 removed (the unreferenced file and the temporary one)", n, err)
	}
	if _, err := readRange(t, s, k, keep, 0, 4); err != nil {
		t.Errorf("kept file unreadable: %v", err)
	}
	if _, err := s.Open(account, drop, k); err == nil {
		t.Error("unreferenced file still there")
	}
	filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, tmpSuffix) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestIDsCannotEscapeTheDirectory(t *testing.T) {
	s, k := newStore(t), key(t)
	for _, id := range []string{"../../etc/passwd", strings.Repeat("g", 32), ""} {
		if _, err := s.Open(account, id, k); err == nil || errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open(%q): got %v, want an invalid-id error", id, err)
		}
	}
	for _, acct := range []string{"..", "a/b", ""} {
		if _, err := s.Create(acct, k); err == nil {
			t.Errorf("Create(%q) accepted", acct)
		}
	}
}
