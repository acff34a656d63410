package mirp

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps MIRP a server part that reaches the rest of Signet only
// through the store: importing the agent would tie the CA to host code,
// and importing sts or arm would create cycles (the control plane calls
// RevokeUnassigned).
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/signet-platform/signet/internal/store": true,
		"github.com/google/uuid":                           true,
	}
	checkImports(t, allowed)
}

func checkImports(t *testing.T, allowed map[string]bool) {
	t.Helper()
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
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && !allowed[path] {
				t.Errorf("%s imports %s, which this package must not import", name, path)
			}
		}
	}
}
