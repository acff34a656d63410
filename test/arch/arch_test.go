package arch

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/signet-platform/signet/"

// pkg is one package of the module: its path below the module, the module
// packages its non-test files import (as paths below the module), and the
// other modules' packages they import.
type pkg struct {
	path     string
	imports  map[string]bool
	external map[string]bool
	doc      bool
}

func loadPackages(t *testing.T) map[string]*pkg {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]*pkg{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		p := pkgs[rel]
		if p == nil {
			p = &pkg{path: filepath.ToSlash(rel), imports: map[string]bool{}, external: map[string]bool{}}
			pkgs[rel] = p
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name) || f.Name.Name == "main" && f.Doc != nil {
			p.doc = true
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(ip, module); ok {
				p.imports[rest] = true
			} else if first, _, _ := strings.Cut(ip, "/"); strings.Contains(first, ".") {
				p.external[ip] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("found only %d packages; is the walk rooted right?", len(pkgs))
	}
	return pkgs
}

// rules: a package (or a tree, with a trailing /...) must not import these,
// each with the reason the edge is banned.
var rules = []struct {
	from, banned, why string
}{
	{"internal/store", "*", "the store contract is the bottom layer: everything depends on it, it on nothing"},
	{"internal/jwt", "*", "a leaf: relying parties anywhere must be able to verify tokens with it alone"},
	{"internal/seal", "*", "a leaf: the master key must not depend on what it protects"},
	{"internal/resourceid", "*", "a leaf of ARM vocabulary"},
	{"internal/oauth2", "*", "a leaf of OAuth vocabulary"},
	{"client", "*", "importable by users: the standard library only"},
	{"internal/arm", "internal/sts", "relying parties verify tokens through jwt, never through the token service"},
	{"internal/arm", "internal/keys", "relying parties verify tokens through jwt, never by reaching into key custody"},
	{"internal/arm", "internal/store/sqlstore", "the control plane sees the store contract, not a backend"},
	{"internal/sts", "internal/keys", "the STS signs through a small interface; custody lives elsewhere"},
	{"internal/sts", "internal/store/sqlstore", "the STS sees the store contract, not a backend"},
	{"internal/agent/...", "internal/store", "the agent runs on other hosts and reaches the servers only over HTTP"},
	{"internal/agent/...", "internal/store/sqlstore", "the agent reaches the servers only over HTTP"},
	{"internal/agent/...", "internal/sts", "the agent reaches the STS only over HTTP"},
	{"internal/agent/...", "internal/mirp", "the agent reaches MIRP only over HTTP (mTLS)"},
	{"internal/agent/...", "internal/server", "the agent is not part of the server"},
	{"internal/cli", "internal/store", "the CLI reaches the server over HTTPS only"},
	{"internal/cli", "internal/server", "the CLI reaches the server over HTTPS only"},
	{"internal/mirp", "internal/sts", "MIRP issues credentials; the STS judges them through the store"},
	{"internal/secrets", "internal/sts", "relying parties verify tokens through jwt, never through the token service"},
	{"internal/secrets", "internal/keys", "relying parties verify tokens through jwt, never by reaching into key custody"},
	{"internal/secrets", "internal/arm", "the vault owns its type through the control plane's hooks, without importing it"},
	{"internal/secrets", "internal/store/sqlstore", "the vault sees the store contract, not a backend"},
	{"internal/blob/...", "internal/sts", "relying parties verify tokens through jwt, never through the token service"},
	{"internal/blob/...", "internal/keys", "relying parties verify tokens through jwt, never by reaching into key custody"},
	{"internal/blob/...", "internal/arm", "storage owns its type through the control plane's hooks, without importing it"},
	{"internal/blob/...", "internal/store/sqlstore", "storage sees the store contract, not a backend"},
}

// allowOnly: these packages (or trees) may import only the listed module
// packages, and no other module's packages unless listed in external.
var allowOnly = []struct {
	from     string
	allowed  []string
	external []string
	why      string
}{
	{"client", nil, nil, "users import it: the standard library only"},
	{"internal/cli", []string{"client"}, nil, "the CLI reaches Signet over HTTPS through the client only"},
	{"internal/agent", nil, []string{"github.com/google/uuid", "golang.org/x/sync"}, "the agent runs on other hosts and reaches the servers over HTTP only"},
	{"internal/agent/enroll", []string{"internal/agent"}, nil, "the agent reaches MIRP over HTTPS (mTLS) only"},
	{"internal/agent/host", []string{"internal/agent", "internal/agent/enroll"}, nil, "the agent's composition holds only agent parts"},
	{"internal/console", []string{"client"}, nil, "the console is a backend-for-frontend: it reaches the STS and the control plane over HTTPS through the client only"},
	{"internal/mirp", []string{"internal/store"}, []string{"github.com/google/uuid"}, "MIRP sees the store contract and seals through an interface"},
}

func TestAllowedImports(t *testing.T) {
	pkgs := loadPackages(t)
	for _, r := range allowOnly {
		p := pkgs[filepath.FromSlash(r.from)]
		if p == nil {
			t.Errorf("rule for %s matched no package: update the rule", r.from)
			continue
		}
		for imp := range p.imports {
			if !slices.Contains(r.allowed, imp) {
				t.Errorf("%s imports %s: not allowed, because %s", p.path, imp, r.why)
			}
		}
		for imp := range p.external {
			if !slices.ContainsFunc(r.external, func(e string) bool { return strings.HasPrefix(imp, e) }) {
				t.Errorf("%s imports %s from another module: not allowed, because %s", p.path, imp, r.why)
			}
		}
	}
}

func matches(pattern, path string) bool {
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == tree || strings.HasPrefix(path, tree+"/")
	}
	return path == pattern
}

func TestImportBoundaries(t *testing.T) {
	pkgs := loadPackages(t)
	for _, r := range rules {
		checked := false
		for _, p := range pkgs {
			if !matches(r.from, p.path) {
				continue
			}
			checked = true
			for imp := range p.imports {
				if r.banned == "*" || imp == r.banned {
					t.Errorf("%s imports %s: not allowed, because %s", p.path, imp, r.why)
				}
			}
		}
		if !checked {
			t.Errorf("rule for %s matched no package: update the rule", r.from)
		}
	}
}

func TestOnlyTheBinaryImportsTheCompositionRoot(t *testing.T) {
	for _, p := range loadPackages(t) {
		if p.imports["internal/server"] && !strings.HasPrefix(p.path, "cmd/") && !strings.HasPrefix(p.path, "bench/") {
			t.Errorf("%s imports internal/server; only cmd/signet (and benchmarks) may", p.path)
		}
	}
}

func TestEveryPackageSaysWhatItOwns(t *testing.T) {
	for _, p := range loadPackages(t) {
		if !p.doc {
			t.Errorf("%s has no package comment (add a doc.go: what it owns, what it must not import)", p.path)
		}
	}
	if _, err := os.Stat("../../docs/ARCHITECTURE.md"); err != nil {
		t.Error("docs/ARCHITECTURE.md is missing")
	}
}
