package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/signet-platform/signet/internal/authz"
)

// SIGKILL during 50 concurrent uploads: after a restart, every upload that
// was acknowledged reads back whole with its MD5; every other one is either
// absent or — when only the acknowledgement was lost, the commit having
// happened — whole. Nothing is ever torn, and the sweep leaves no file that
// nothing refers to.
func TestBlobUploadsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts signet as a child process")
	}
	dataDir := t.TempDir()
	p := startProcess(t, dataDir)
	acct := p.createStorageAccount(t, "crashstore")
	p.grant(t, p.Dev.ObjectID, authz.StorageBlobDataOwnerRoleID, acct.ID)
	endpoint := acct.Properties.PrimaryEndpoints.Blob
	c := p.blobClient(t, endpoint, p.adminCredential(t))
	ctx := ctxT(t)
	if _, err := c.CreateContainer(ctx, "crash", nil); err != nil {
		t.Fatal(err)
	}

	type upload struct {
		name  string
		data  []byte
		acked bool
	}
	var mu sync.Mutex
	var uploads []*upload
	var acks atomic.Int32
	uctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; uctx.Err() == nil; i++ {
				size := 64<<10 + 1 + w*4099 + i*977 // past the inline limit: content files
				if w%4 == 2 {
					size = 1<<10 + w*97 + i*13 // small: sealed in the blob's record
				}
				u := &upload{name: fmt.Sprintf("w%02d/%d", w, i), data: patterned(size, byte(w+i))}
				mu.Lock()
				uploads = append(uploads, u)
				mu.Unlock()
				var err error
				if w%2 == 0 {
					_, err = c.UploadBuffer(uctx, "crash", u.name, u.data, nil) // Put Blob
				} else {
					_, err = c.UploadStream(uctx, "crash", u.name, bytes.NewReader(u.data), // Put Block + Put Block List
						&azblob.UploadStreamOptions{BlockSize: 1 << 20})
				}
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				u.acked = true
				mu.Unlock()
				acks.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for acks.Load() < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d uploads acknowledged in 2 minutes", acks.Load())
		}
		time.Sleep(5 * time.Millisecond) // waiting on other goroutines' progress
	}
	p.kill()
	wg.Wait()

	p = startProcess(t, dataDir)
	// The restart listens on a new port (almost always: the OS may hand
	// out the old one again), and a GET of the account reports it: the
	// endpoint is the running deployment's, not the one stored.
	before := endpoint
	endpoint = p.getStorageAccount(t, "crashstore").Properties.PrimaryEndpoints.Blob
	if !strings.HasPrefix(endpoint, p.BlobURL) {
		t.Errorf("primaryEndpoints.blob after restart = %q, want one under %q (was %q)", endpoint, p.BlobURL, before)
	}
	c = p.blobClient(t, endpoint, p.adminCredential(t))
	var acked, lost, committedUnacked int
	for _, u := range uploads {
		resp, err := c.DownloadStream(ctx, "crash", u.name, nil)
		if err != nil {
			var re *azcore.ResponseError
			if u.acked || !errors.As(err, &re) || re.ErrorCode != string(bloberror.BlobNotFound) {
				t.Errorf("%s (acknowledged %v): %v", u.name, u.acked, err)
			}
			lost++
			continue
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(md5Bytes(got), md5Bytes(u.data)) {
			t.Errorf("%s (acknowledged %v): %d bytes read back, not the %d uploaded (%v)", u.name, u.acked, len(got), len(u.data), err)
		}
		if u.acked {
			acked++
		} else {
			committedUnacked++
		}
	}
	t.Logf("%d uploads acknowledged and intact, %d unacknowledged and absent, %d committed but unacknowledged (intact)",
		acked, lost, committedUnacked)
	if acked < 100 || lost == 0 {
		t.Errorf("the kill did not land mid-upload: %d acknowledged, %d lost", acked, lost)
	}

	// Listing shows exactly the blobs that read back.
	var listed int
	for pager := c.NewListBlobsFlatPager("crash", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed += len(page.Segment.BlobItems)
	}
	if listed != acked+committedUnacked {
		t.Errorf("listing shows %d blobs, %d read back", listed, acked+committedUnacked)
	}
	// The restart swept temporary files and files no blob refers to.
	var tmp int
	filepath.WalkDir(filepath.Join(dataDir, "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".tmp") {
			tmp++
		}
		return nil
	})
	if tmp != 0 {
		t.Errorf("%d temporary files survived the restart's sweep", tmp)
	}
}

// Resident memory stays flat while a 1 GiB blob goes up and comes back:
// the server streams, it never holds a blob.
func TestBlobMemoryIsConstantInBlobSize(t *testing.T) {
	if testing.Short() {
		t.Skip("moves a GiB through a child process")
	}
	p := startProcess(t, t.TempDir())
	acct := p.createStorageAccount(t, "memstore")
	p.grant(t, p.Dev.ObjectID, authz.StorageBlobDataOwnerRoleID, acct.ID)
	c := p.blobClient(t, acct.Properties.PrimaryEndpoints.Blob, p.adminCredential(t))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := c.CreateContainer(ctx, "mem", nil); err != nil {
		t.Fatal(err)
	}
	// Warm up every path once, so pools and TLS buffers exist.
	warm := patterned(8<<20, 3)
	if _, err := c.UploadBuffer(ctx, "mem", "warm", warm, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DownloadBuffer(ctx, "mem", "warm", make([]byte, len(warm)), nil); err != nil {
		t.Fatal(err)
	}
	base := p.rss(t)
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if r := p.rss(t); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()

	const size = 1 << 30
	bb := c.ServiceClient().NewContainerClient("mem").NewBlockBlobClient("big")
	// One Put Blob of a GiB.
	if _, err := bb.Upload(ctx, &genReader{size: size, seed: 9}, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := bb.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, n, err := md5Of(resp.Body)
	resp.Body.Close()
	close(done)
	want, _, _ := md5Of(&genReader{size: size, seed: 9})
	if err != nil || n != size || !bytes.Equal(sum, want) {
		t.Fatalf("download: %d bytes, %v, md5 match %v", n, err, bytes.Equal(sum, want))
	}
	growth := peak.Load() - base
	t.Logf("server RSS: %d MiB at start, peak %d MiB (+%.1f MiB) over a 1 GiB upload and download",
		base>>20, peak.Load()>>20, float64(growth)/(1<<20))
	if growth > 20<<20 {
		t.Errorf("resident memory grew by %.1f MiB, want at most 20 MiB", float64(growth)/(1<<20))
	}
}
