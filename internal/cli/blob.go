package cli

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func init() {
	register(
		&command{path: "blob upload", args: "--account-name A [--group G | --blob-endpoint URL] --container C --file F [--name N] [--content-type T] [--identity]",
			summary: "upload a file as a block blob (progress on a terminal)", run: runBlobUpload},
		&command{path: "blob download", args: "--account-name A [--group G | --blob-endpoint URL] --container C --name N --file F [--identity]",
			summary: "download a blob to a file (progress on a terminal)", run: runBlobDownload},
		&command{path: "blob list", args: "--account-name A [--group G | --blob-endpoint URL] --container C [--prefix P] [--identity]",
			summary: "list the blobs of a container", run: runBlobList},
		&command{path: "blob delete", args: "--account-name A [--group G | --blob-endpoint URL] --container C --name N [--identity]",
			summary: "delete a blob", run: runBlobDelete},
	)
}

func runBlobUpload(a *app, args []string) error {
	fs := newFlagSet("blob upload")
	target := a.blobFlags(fs)
	container := fs.String("container", "", "container name")
	file := fs.String("file", "", "file to upload")
	name := fs.String("name", "", "blob name (default: the file's base name)")
	contentType := fs.String("content-type", "", "content type (default: from the file extension)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"container", *container}, [2]string{"file", *file}); err != nil {
		return err
	}
	if *name == "" {
		*name = filepath.Base(*file)
	}
	if *contentType == "" {
		*contentType = mime.TypeByExtension(filepath.Ext(*file))
	}
	t, err := target()
	if err != nil {
		return err
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	p := a.progress("uploading "+*name, st.Size())
	err = t.api.upload(blobURL(t.endpoint, *container, *name), p.wrap(f), st.Size(), *contentType)
	p.done()
	if err != nil {
		return err
	}
	return a.emit(map[string]any{"name": *name, "container": *container, "size": st.Size()}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "uploaded %s (%d bytes) to %s\n", *name, st.Size(), *container)
		return err
	})
}

func runBlobDownload(a *app, args []string) error {
	fs := newFlagSet("blob download")
	target := a.blobFlags(fs)
	container := fs.String("container", "", "container name")
	name := fs.String("name", "", "blob name")
	file := fs.String("file", "", "file to write (- for stdout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"container", *container}, [2]string{"name", *name}, [2]string{"file", *file}); err != nil {
		return err
	}
	t, err := target()
	if err != nil {
		return err
	}
	body, size, err := t.api.download(blobURL(t.endpoint, *container, *name))
	if err != nil {
		return err
	}
	defer body.Close()
	if *file == "-" {
		_, err := io.Copy(a.stdout, body)
		return err
	}
	// Written beside the target and renamed: a failed download never
	// leaves a truncated file under the name asked for.
	tmp, err := os.CreateTemp(filepath.Dir(*file), "."+filepath.Base(*file)+".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	p := a.progress("downloading "+*name, size)
	n, err := io.Copy(tmp, p.wrap(body))
	p.done()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = fmt.Errorf("download ended after %d of %d bytes", n, size)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *file); err != nil {
		return err
	}
	return a.emit(map[string]any{"name": *name, "file": *file, "size": n}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "downloaded %s (%d bytes) to %s\n", *name, n, *file)
		return err
	})
}

type blobJSON struct {
	Name         string `json:"name" xml:"Name"`
	Size         int64  `json:"size" xml:"Properties>Content-Length"`
	ContentType  string `json:"contentType" xml:"Properties>Content-Type"`
	LastModified string `json:"lastModified" xml:"Properties>Last-Modified"`
}

func runBlobList(a *app, args []string) error {
	fs := newFlagSet("blob list")
	target := a.blobFlags(fs)
	container := fs.String("container", "", "container name")
	prefix := fs.String("prefix", "", "only blobs whose names start with this")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"container", *container}); err != nil {
		return err
	}
	t, err := target()
	if err != nil {
		return err
	}
	var all []blobJSON
	marker := ""
	for {
		var page struct {
			Blobs      []blobJSON `xml:"Blobs>Blob"`
			NextMarker string     `xml:"NextMarker"`
		}
		u := t.endpoint + *container + "?restype=container&comp=list&prefix=" + url.QueryEscape(*prefix) + "&marker=" + url.QueryEscape(marker)
		if err := t.api.getXML(u, &page); err != nil {
			return err
		}
		all = append(all, page.Blobs...)
		if marker = page.NextMarker; marker == "" {
			break
		}
	}
	return a.emit(all, func(w io.Writer) error {
		tab := newTable(w, "NAME", "SIZE", "CONTENT TYPE", "LAST MODIFIED")
		for _, b := range all {
			if tm, err := time.Parse(http.TimeFormat, b.LastModified); err == nil {
				b.LastModified = formatTime(tm)
			}
			tab.row(b.Name, fmt.Sprint(b.Size), b.ContentType, b.LastModified)
		}
		return tab.flush()
	})
}

func runBlobDelete(a *app, args []string) error {
	fs := newFlagSet("blob delete")
	target := a.blobFlags(fs)
	container := fs.String("container", "", "container name")
	name := fs.String("name", "", "blob name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"container", *container}, [2]string{"name", *name}); err != nil {
		return err
	}
	t, err := target()
	if err != nil {
		return err
	}
	_, err = t.api.do(http.MethodDelete, blobURL(t.endpoint, *container, *name), nil, -1, nil, http.StatusAccepted)
	return err
}

// progressMin is the smallest transfer that gets a progress bar.
const progressMin = 4 << 20

// progress draws a bar on stderr while a transfer over a few MB runs and
// stdout is a terminal; otherwise it does nothing.
type progress struct {
	w     io.Writer
	label string
	total int64
	n     int64
	last  time.Time
}

func (a *app) progress(label string, total int64) *progress {
	p := &progress{label: label, total: total}
	if total >= progressMin && isTerminal(a.stdout) {
		p.w = a.stderr
	}
	return p
}

func (p *progress) wrap(r io.Reader) io.Reader {
	if p.w == nil {
		return r
	}
	return &progressReader{r: r, p: p}
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(int64(n))
	return n, err
}

func (p *progress) add(n int64) {
	p.n += n
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || p.n == p.total {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	const width = 30
	frac := float64(p.n) / float64(max(p.total, 1))
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	fmt.Fprintf(p.w, "\r%s [%s] %5.1f%% %d/%d MiB", p.label, bar, frac*100, p.n>>20, p.total>>20)
}

func (p *progress) done() {
	if p.w != nil {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
