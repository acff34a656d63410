package content

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Writer writes one content file. Nothing is visible under the file's id
// until Commit returns; Abort (or a crash) leaves only a temporary file
// that Sweep removes.
type Writer struct {
	s        *Store
	account  string
	id       string
	tmp      string
	f        *os.File
	aead     cipher.AEAD
	chunk    int
	buf      *[]byte // plaintext accumulates in (*buf)[:n]; sealing happens in place
	n        int
	idx      uint64
	size     int64
	ad       []byte
	nonce    [12]byte
	err      error
	done     bool
	finished bool // the last chunk is sealed

	// Past the first chunk, sealing and writing move to a second
	// goroutine, so a large upload's encryption overlaps its receipt (and
	// its MD5, which the caller computes while reading).
	work chan chunkJob
	werr chan error
	// hash, when set, sees the plaintext in order; past the first chunk it
	// runs in its own goroutine beside the sealing one.
	hash  hash.Hash
	hjobs chan chunkJob
	hdone chan struct{}
}

// chunkJob is a full, not-last chunk for the sealing goroutine.
type chunkJob struct {
	buf  *[]byte
	n    int
	idx  uint64
	refs *atomic.Int32 // goroutines still reading buf; the last releases it
}

// inFlight bounds the chunks queued for sealing: memory per writer stays
// a few chunks whatever the file size.
const inFlight = 4

// writebackEvery is how much is written between requests to start
// writing back to disk, so the final sync finds little left to do.
const writebackEvery = 8 << 20

// Create starts a new content file for an account.
func (s *Store) Create(accountID string, accountKey []byte) (*Writer, error) {
	if !validAccount(accountID) {
		return nil, fmt.Errorf("content: invalid account id %q", accountID)
	}
	var hdr [headerSize]byte
	copy(hdr[:], magic)
	hdr[4], hdr[5] = version1, byte(s.chunkLog2())
	salt := hdr[8:]
	rand.Read(salt)
	aead, err := fileAEAD(accountKey, salt)
	if err != nil {
		return nil, err
	}
	id := newFileID()
	dst, _ := s.path(accountID, id)
	// The temporary file sits beside its final name: the rename stays
	// within one directory (one directory sync covers it), and concurrent
	// writers spread over 256 directories instead of contending on one.
	if err := s.ensureDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	tmp := dst + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	if _, err := f.Write(hdr[:]); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("content: %w", err)
	}
	chunk := 1 << s.chunkLog2()
	return &Writer{s: s, account: accountID, id: id, tmp: tmp, f: f, aead: aead, chunk: chunk,
		buf: s.buffer(chunk)}, nil
}

// ID is the file's id, valid once Commit succeeds.
func (w *Writer) ID() string { return w.id }

// Size is the number of plaintext bytes written so far.
func (w *Writer) Size() int64 { return w.size }

// Write encrypts p into the file.
func (w *Writer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.err != nil {
			return written, w.err
		}
		if w.n == w.chunk {
			// Only now is it known that the full chunk is not the last.
			w.flush(false)
			continue
		}
		c := copy((*w.buf)[w.n:w.chunk], p)
		w.n += c
		w.size += int64(c)
		written += c
		p = p[c:]
	}
	return written, w.err
}

// ReadFrom reads r to its end straight into the chunk buffer (io.Copy
// uses it), saving a copy per byte.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if w.err != nil {
			return total, w.err
		}
		if w.n == w.chunk {
			// Peek one byte to learn whether the full chunk is the last.
			var one [1]byte
			k, err := io.ReadFull(r, one[:])
			if k == 0 {
				if err == io.EOF {
					return total, nil
				}
				return total, err
			}
			w.flush(false)
			(*w.buf)[0] = one[0]
			w.n, w.size, total = 1, w.size+1, total+1
			continue
		}
		k, err := io.ReadFull(r, (*w.buf)[w.n:w.chunk])
		w.n += k
		w.size += int64(k)
		total += int64(k)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (w *Writer) flush(final bool) {
	if !final {
		if w.work == nil {
			w.work, w.werr = make(chan chunkJob, inFlight), make(chan error, 1)
			go w.seal(w.work)
			if w.hash != nil {
				w.hjobs, w.hdone = make(chan chunkJob, inFlight), make(chan struct{})
				go w.hashChunks(w.hjobs)
			}
		}
		job := chunkJob{buf: w.buf, n: w.n, idx: w.idx, refs: new(atomic.Int32)}
		job.refs.Store(1)
		if w.hjobs != nil {
			job.refs.Store(2)
			w.hjobs <- job
		}
		w.work <- job
		w.buf = w.s.buffer(w.chunk)
		w.idx++
		w.n = 0
		return
	}
	if err := w.stopSealer(); err != nil && w.err == nil {
		w.err = err
	}
	if w.hash != nil {
		w.hash.Write((*w.buf)[:w.n])
	}
	w.ad = chunkAD(w.ad, w.id, w.idx, true)
	sealed := w.aead.Seal((*w.buf)[:0], chunkNonce(&w.nonce, w.idx), (*w.buf)[:w.n], w.ad)
	if _, err := w.f.Write(sealed); err != nil && w.err == nil {
		w.err = fmt.Errorf("content: %w", err)
	}
	w.idx++
	w.n = 0
}

// seal is the sealing goroutine: chunks arrive in order and are written in
// order.
func (w *Writer) seal(work <-chan chunkJob) {
	var err error
	var ad []byte
	var nonce [12]byte
	var written, pushed int64
	out := w.s.buffer(w.chunk) // sealed apart: the hasher may still read the plaintext
	defer w.s.release(w.chunk, out)
	for job := range work {
		if err == nil {
			ad = chunkAD(ad, w.id, job.idx, false)
			sealed := w.aead.Seal((*out)[:0], chunkNonce(&nonce, job.idx), (*job.buf)[:job.n], ad)
			if _, werr := w.f.Write(sealed); werr != nil {
				err = fmt.Errorf("content: %w", werr)
			}
			written += int64(len(sealed))
			if written-pushed >= writebackEvery {
				startWriteback(w.f, headerSize+pushed, written-pushed)
				pushed = written
			}
		}
		w.done1(job)
	}
	w.werr <- err
}

func (w *Writer) done1(job chunkJob) {
	if job.refs.Add(-1) == 0 {
		w.s.release(w.chunk, job.buf)
	}
}

func (w *Writer) hashChunks(jobs <-chan chunkJob) {
	defer close(w.hdone)
	for job := range jobs {
		w.hash.Write((*job.buf)[:job.n])
		w.done1(job)
	}
}

// stopSealer waits for the sealing goroutine to finish what it was given.
func (w *Writer) stopSealer() error {
	if w.work == nil {
		return nil
	}
	close(w.work)
	w.work = nil
	if w.hjobs != nil {
		close(w.hjobs)
		<-w.hdone
		w.hjobs = nil
	}
	return <-w.werr
}

// Finish seals the last chunk, so that the hash given to HashTo is
// complete, without making the file durable or visible; Commit does that.
// Nothing may be written after it.
func (w *Writer) Finish() {
	if !w.finished {
		w.finished = true
		w.flush(true)
	}
}

// HashTo makes the writer feed every plaintext byte, in order, to h; call
// it before the first write. The hash is complete when Commit returns.
func (w *Writer) HashTo(h hash.Hash) { w.hash = h }

// Commit seals the last chunk, syncs the file, renames it into place and
// syncs its directory. After Commit the file is durable under ID().
func (w *Writer) Commit() error {
	if w.done {
		return errors.New("content: writer already finished")
	}
	w.Finish()
	err := w.err
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.finish()
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("content: write %s: %w", w.id, err)
	}
	dst := strings.TrimSuffix(w.tmp, tmpSuffix)
	if err := os.Rename(w.tmp, dst); err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("content: %w", err)
	}
	return syncDir(filepath.Dir(dst))
}

// Abort discards the file. It is safe after Commit (a no-op then).
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.stopSealer()
	w.f.Close()
	os.Remove(w.tmp)
	w.finish()
}

func (w *Writer) finish() {
	w.done = true
	w.s.release(w.chunk, w.buf)
	w.buf = nil
}
