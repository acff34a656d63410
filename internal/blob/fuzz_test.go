package blob

import (
	"strings"
	"testing"
)

// FuzzRange: any header value either parses into a range that resolves
// inside the blob (or 416s), or is refused; nothing panics.
func FuzzRange(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=5-", "bytes=-5", "bytes=1-0", "bytes=0-1,2-3", "items=0-1",
		"bytes=99999999999999999999-", "bytes= 1-2", "bytes=0-9223372036854775807"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		br, ok := parseRangeValue(v)
		if !ok {
			return
		}
		if br.start < 0 || (br.end >= 0 && br.end < br.start) {
			t.Fatalf("%q parsed to %+v", v, br)
		}
		off, n, err := br.resolve(size)
		if err != nil {
			if br.start < size {
				t.Fatalf("%q on %d bytes: refused a satisfiable range", v, size)
			}
			return
		}
		if off < 0 || n <= 0 || off+n > size {
			t.Fatalf("%q on %d bytes resolved to off %d n %d", v, size, off, n)
		}
	})
}

// FuzzBlockList: any body either parses into entries of the three kinds
// or is refused as a Blob error; nothing panics.
func FuzzBlockList(f *testing.F) {
	for _, s := range []string{blockList("<Latest>QQ==</Latest>"), blockList("<Committed>QQ==</Committed><Uncommitted>Qg==</Uncommitted>"),
		"<BlockList>", "<BlockList><Latest><x/></Latest></BlockList>", "<?xml version=\"1.0\"?><BlockList/>", "<a/><b/>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		refs, err := parseBlockList(strings.NewReader(body))
		if err != nil {
			if err.status != 400 && err.status != 409 {
				t.Fatalf("status %d", err.status)
			}
			return
		}
		for _, r := range refs {
			if r.list != "Committed" && r.list != "Uncommitted" && r.list != "Latest" {
				t.Fatalf("entry kind %q", r.list)
			}
		}
	})
}
