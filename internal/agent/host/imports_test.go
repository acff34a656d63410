package host

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the agent a client of the servers: it reaches MIRP and
// the STS over HTTPS, so it can run on hosts that carry no server code and
// cannot bypass the checks those servers make.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/signet-platform/signet/internal/agent":        true,
		"github.com/signet-platform/signet/internal/agent/enroll": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/signet-platform/signet/") && !allowed[path] {
				t.Errorf("%s imports %s; the agent may use only packages agent and agent/enroll of Signet", name, path)
			}
		}
	}
}
