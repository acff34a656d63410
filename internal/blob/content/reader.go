package content

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"os"
)

// File is an open content file.
type File struct {
	s      *Store
	f      *os.File
	id     string
	aead   cipher.AEAD
	chunk  int64
	chunks uint64
	size   int64
}

// Open opens a committed content file.
func (s *Store) Open(accountID, fileID string, accountKey []byte) (*File, error) {
	p, err := s.path(accountID, fileID)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	cf, err := s.openFile(f, fileID, accountKey)
	if err != nil {
		f.Close()
		return nil, err
	}
	return cf, nil
}

func (s *Store) openFile(f *os.File, fileID string, accountKey []byte) (*File, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if string(hdr[:4]) != magic || hdr[4] != version1 || hdr[5] < 10 || hdr[5] > 24 {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	aead, err := fileAEAD(accountKey, hdr[8:])
	if err != nil {
		return nil, err
	}
	chunk := int64(1) << hdr[5]
	body := st.Size() - headerSize
	sealed := chunk + tagSize
	chunks := (body + sealed - 1) / sealed
	last := body - (chunks-1)*sealed
	if chunks == 0 || last < tagSize {
		return nil, fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	return &File{s: s, f: f, id: fileID, aead: aead, chunk: chunk, chunks: uint64(chunks),
		size: body - chunks*tagSize}, nil
}

// Size is the plaintext size.
func (c *File) Size() int64 { return c.size }

// Close closes the file.
func (c *File) Close() error { return c.f.Close() }

// WriteRange decrypts plaintext bytes [off, off+n) to w, reading and
// authenticating only the chunks that hold them.
func (c *File) WriteRange(w io.Writer, off, n int64) error {
	if off < 0 || n < 0 || off+n > c.size {
		return fmt.Errorf("content: range %d+%d outside a %d-byte file", off, n, c.size)
	}
	if n == 0 {
		return nil
	}
	buf := c.s.buffer(int(c.chunk))
	defer c.s.release(int(c.chunk), buf)
	var nonce [12]byte
	var ad []byte
	for idx := uint64(off / c.chunk); n > 0; idx++ {
		final := idx == c.chunks-1
		sealedLen := c.chunk + tagSize
		if final {
			sealedLen = c.size - int64(idx)*c.chunk + tagSize
		}
		sealed := (*buf)[:sealedLen]
		if _, err := c.f.ReadAt(sealed, headerSize+int64(idx)*(c.chunk+tagSize)); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("content: read %s: %w", c.id, err)
		}
		ad = chunkAD(ad, c.id, idx, final)
		plain, err := c.aead.Open(sealed[:0], chunkNonce(&nonce, idx), sealed, ad)
		if err != nil {
			return fmt.Errorf("%w: %s chunk %d", ErrCorrupt, c.id, idx)
		}
		start := off - int64(idx)*c.chunk
		end := min(int64(len(plain)), start+n)
		if _, err := w.Write(plain[start:end]); err != nil {
			return err
		}
		n -= end - start
		off += end - start
	}
	return nil
}
