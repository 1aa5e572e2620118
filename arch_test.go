package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The dependency rule of DESIGN.md §1 as allow-lists: each layer (top-level
// folder, "" for the root package main) names what it may import, and
// anything not named fails. Only the packages' own imports count: test files
// (TestImports, XTestImports) and external _test packages are exempt, so a
// driver's tests may run against the real store.

const module = "github.com/truecost/truecost"

// layers lists, per layer, the layers of this module it may import. Outside
// this module every layer but domain may import any package.
var layers = map[string][]string{
	"":           {"domain", "adapters", "graph", "views", "jobs", "migrations", "static"}, // package main, the composition root
	"domain":     {"domain"},
	"adapters":   {"domain", "adapters", "migrations"},
	"graph":      {"domain", "graph"},
	"views":      {"domain", "views", "static"},
	"jobs":       {"domain", "jobs"},
	"migrations": nil,
	"static":     nil,
}

var drivers = []string{"graph", "views", "jobs"}

// allowedInDomain lists the packages outside this module that domain may
// import: the standard library's packages that do no I/O of their own, and
// pure libraries. Networking (net/...), databases (database/sql), processes
// and files (os, os/exec, io/fs), SDKs, SQL and HTTP stay in adapters.
var allowedInDomain = setOf(
	// language and collections
	"cmp", "context", "errors", "fmt", "iter", "maps", "slices", "sort", "sync", "sync/atomic", "unique",
	// text and numbers
	"bufio", "bytes", "io", "regexp", "strconv", "strings", "unicode", "unicode/utf16", "unicode/utf8",
	"math", "math/big", "math/bits", "math/rand/v2", "time",
	// paths as strings; logging through an injected handler; IP addresses
	// as values (net/netip parses, it does not dial)
	"path", "path/filepath", "log/slog", "net/netip",
	// encodings and hashes
	"encoding/base64", "encoding/binary", "encoding/hex", "encoding/json", "hash", "hash/fnv", "hash/maphash",
	// sealing secrets, hashing tokens
	"crypto/aes", "crypto/cipher", "crypto/hkdf", "crypto/hmac", "crypto/rand", "crypto/sha256", "crypto/sha512", "crypto/subtle",
	// pure libraries
	"github.com/google/uuid", "github.com/shopspring/decimal", "golang.org/x/crypto/argon2",
)

// checkImports returns one message per import of package pkg that breaks the
// dependency rule, saying which rule and how to fix it.
func checkImports(pkg string, imports []string) []string {
	if strings.HasSuffix(pkg, "_test") {
		return nil
	}
	from := layerOf(pkg)
	may, known := layers[from]
	if !known {
		return []string{fmt.Sprintf("%s is in no layer of arch_test.go (layers): a new top-level folder needs a reason a newcomer would accept (DESIGN.md §1); "+
			"add it to layers with what it may import", show(pkg))}
	}
	var broken []string
	for _, imp := range imports {
		var why string
		switch {
		case !isOwn(imp) && from != "domain":
		case !isOwn(imp):
			if !allowedInDomain[imp] {
				why = "domain may import only the standard library's pure packages, other domain packages and the pure libraries listed in arch_test.go (allowedInDomain); " +
					"move I/O to an adapter behind a port declared in domain"
			}
		case !slices.Contains(may, layerOf(imp)):
			why = ruleBroken(from, layerOf(imp), may)
		}
		if why != "" {
			broken = append(broken, fmt.Sprintf("%s imports %s: %s", show(pkg), show(imp), why))
		}
	}
	return broken
}

// ruleBroken says which rule an import from layer from of layer to breaks,
// and how to fix it.
func ruleBroken(from, to string, may []string) string {
	switch {
	case from == "domain":
		return "domain imports nothing of this module outside domain; declare a port (an interface) in the domain package that needs it and implement it in an adapter"
	case slices.Contains(drivers, from) && to == "adapters":
		return "drivers (graph, views, jobs) never import adapters, only package main does; " +
			"take what the driver needs as an interface (or a domain service) and let main.go pass the adapter in"
	case from == "graph" && to == "views", from == "views" && to == "graph":
		return "graph and views never import each other; move what both need into domain"
	case from == "adapters":
		return "adapters may import only domain, other adapters and migrations, never a driver (graph, views, jobs) nor package main; " +
			"the driver calls the domain, which reaches the adapter through a port"
	case from == "migrations":
		return "migrations import nothing of this module (they are append-only and never import live models); write the schema out in the migration"
	case from == "static":
		return "static holds assets and imports nothing of this module"
	}
	return fmt.Sprintf("%s may import only %s of this module (layers in arch_test.go); move what both need into domain", from, strings.Join(may, ", "))
}

func isOwn(imp string) bool { return imp == module || strings.HasPrefix(imp, module+"/") }

// layerOf returns the top-level folder of a package of this module, "" for
// the root package main.
func layerOf(pkg string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	layer, _, _ := strings.Cut(rel, "/")
	return layer
}

// show names a package of this module by its folder, others by import path.
func show(pkg string) string {
	switch {
	case pkg == module:
		return "package main"
	case isOwn(pkg):
		return strings.TrimPrefix(pkg, module+"/")
	}
	return pkg
}

func setOf(names ...string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}

// TestDependencyRule checks every package of this module against the
// allow-lists above.
func TestDependencyRule(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), "go", "list", "-json=ImportPath,Imports", "./...")
	out, err := cmd.Output()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr)
	} else if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for n := 0; ; n++ {
		var pkg struct {
			ImportPath string
			Imports    []string // without TestImports and XTestImports: tests are exempt
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			if n == 0 {
				t.Fatal("go list found no packages")
			}
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for _, msg := range checkImports(pkg.ImportPath, pkg.Imports) {
			t.Error(msg)
		}
	}
}

func TestDependencyRuleNamesTheBrokenRule(t *testing.T) {
	t.Parallel()
	m := func(folder string) string { return path.Join(module, folder) }
	for _, tc := range []struct {
		pkg, imp string
		want     string // prefix of the message; "" when the import is allowed
	}{
		{m("domain/billing"), "net/http", "domain/billing imports net/http: domain may import only the standard library's pure packages, " +
			"other domain packages and the pure libraries listed in arch_test.go (allowedInDomain); move I/O"},
		{m("domain/connectors"), "os", "domain/connectors imports os: domain may import only the standard library's pure packages"},
		{m("domain/connectors"), "os/exec", "domain/connectors imports os/exec: domain may import only"},
		{m("domain/accounts"), "database/sql", "domain/accounts imports database/sql: domain may import only"},
		{m("domain/accounts"), "net/url", "domain/accounts imports net/url: domain may import only"},
		{m("domain/billing"), "github.com/uptrace/bun", "domain/billing imports github.com/uptrace/bun: domain may import only"},
		{m("domain/billing"), "github.com/aws/aws-sdk-go-v2/service/s3", "domain/billing imports github.com/aws/aws-sdk-go-v2/service/s3: domain may import only"},
		{m("domain/billing"), m("adapters/sqlstore"), "domain/billing imports adapters/sqlstore: domain imports nothing of this module outside domain; declare a port"},
		{m("domain/tenancy"), m("views/layout"), "domain/tenancy imports views/layout: domain imports nothing of this module outside domain"},
		{m("domain/billing"), "encoding/csv", "domain/billing imports encoding/csv: domain may import only"},
		{m("domain/billing"), "github.com/klauspost/compress/gzip", "domain/billing imports github.com/klauspost/compress/gzip: domain may import only"},
		{m("domain/tenancy"), "golang.org/x/crypto/argon2", ""},
		{m("domain/accounts"), m("domain/billing"), ""},
		{m("domain/accounts"), m("domain"), ""},
		{m("graph"), m("views/accountspage"), "graph imports views/accountspage: graph and views never import each other; move what both need into domain"},
		{m("views/accountspage"), m("graph/model"), "views/accountspage imports graph/model: graph and views never import each other"},
		{m("jobs"), m("adapters/sqlstore"), "jobs imports adapters/sqlstore: drivers (graph, views, jobs) never import adapters, only package main does; " +
			"take what the driver needs as an interface"},
		{m("graph"), m("adapters/awsprovision"), "graph imports adapters/awsprovision: drivers (graph, views, jobs) never import adapters"},
		{m("views/connectorspage"), m("adapters/localfiles"), "views/connectorspage imports adapters/localfiles: drivers (graph, views, jobs) never import adapters"},
		{m("jobs"), m("views"), "jobs imports views: jobs may import only domain, jobs of this module"},
		{m("graph"), m("static"), "graph imports static: graph may import only domain, graph of this module"},
		{m("graph"), m("graph/generated"), ""},
		{m("views/accountspage"), m("views/viewkit"), ""},
		{m("views"), m("static"), ""},
		{m("jobs"), "github.com/go-co-op/gocron/v2", ""},
		{m("views/loginpage"), "net/http", ""},
		{m("adapters/sqlstore"), m("jobs"), "adapters/sqlstore imports jobs: adapters may import only domain, other adapters and migrations, never a driver"},
		{m("adapters/awsbilling"), m("graph/model"), "adapters/awsbilling imports graph/model: adapters may import only"},
		{m("adapters/awsbilling"), m(""), "adapters/awsbilling imports package main: adapters may import only"},
		{m("adapters/sqlstore"), m("migrations"), ""},
		{m("adapters/sqlstore/sqltest"), m("adapters/sqlstore"), ""},
		{m("adapters/awsbilling"), m("domain/billing"), ""},
		{m(""), m("adapters/sqlstore"), ""},
		{m("migrations"), m("domain/billing"), "migrations imports domain/billing: migrations import nothing of this module (they are append-only and never import live models)"},
		{m("migrations"), "github.com/uptrace/bun/migrate", ""},
		{m("static"), m("domain"), "static imports domain: static holds assets and imports nothing of this module"},
		{m("tools/seed"), "fmt", "tools/seed is in no layer of arch_test.go (layers)"},
		{m("jobs_test"), m("adapters/sqlstore"), ""},
		{m("domain/billing_test"), "net/http", ""},
	} {
		got := checkImports(tc.pkg, []string{tc.imp})
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%s importing %s: got %q, want it allowed", show(tc.pkg), show(tc.imp), got)
		case tc.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.want)):
			t.Errorf("%s importing %s: got %q, want one message starting %q", show(tc.pkg), show(tc.imp), got, tc.want)
		}
	}
}

// systemPrincipal is the constructor of the caller that passes every rights
// check; only package main and jobs may call it.
const systemPrincipal = "SystemPrincipal"

// mayBuildSystemPrincipal reports whether the package in folder dir (relative
// to the module root, slash-separated) may refer to tenancy.SystemPrincipal.
func mayBuildSystemPrincipal(dir string) bool {
	return dir == "" || dir == "jobs" || strings.HasPrefix(dir, "jobs/") || dir == "domain/tenancy"
}

// systemPrincipalUses returns one message per reference to
// tenancy.SystemPrincipal in the Go file name, of folder dir, with source src,
// when that folder may not build the system principal. Test files are exempt.
func systemPrincipalUses(dir, name string, src []byte) ([]string, error) {
	if strings.HasSuffix(name, "_test.go") || mayBuildSystemPrincipal(dir) {
		return nil, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path.Join(dir, name), src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var local string // the name tenancy is imported as in this file
	for _, imp := range f.Imports {
		if imp.Path.Value != `"`+module+`/domain/tenancy"` {
			continue
		}
		local = "tenancy"
		if imp.Name != nil {
			local = imp.Name.Name
		}
	}
	if local == "" || local == "_" {
		return nil, nil
	}
	var uses []string
	use := func(pos token.Pos) {
		uses = append(uses, fmt.Sprintf("%s uses tenancy.SystemPrincipal: only package main and jobs may build the system principal, which passes every rights check; "+
			"take the caller from the request, or have main pass a principal in", fset.Position(pos)))
	}
	selected := map[*ast.Ident]bool{} // names after a dot, seen before the ident itself
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			selected[n.Sel] = true
			if x, ok := n.X.(*ast.Ident); ok && x.Name == local && n.Sel.Name == systemPrincipal {
				use(n.Pos())
			}
		case *ast.Ident: // a dot import makes the bare name the one to look for
			if local == "." && n.Name == systemPrincipal && !selected[n] {
				use(n.Pos())
			}
		}
		return true
	})
	return uses, nil
}

func TestOnlyMainAndJobsBuildTheSystemPrincipal(t *testing.T) {
	t.Parallel()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == "." {
				return nil
			}
			if n := d.Name(); strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") || n == "testdata" || n == "node_modules" || n == "vendor" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		if dir == "." {
			dir = ""
		}
		uses, err := systemPrincipalUses(dir, d.Name(), src)
		for _, u := range uses {
			t.Error(u)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSystemPrincipalRuleCatchesUses(t *testing.T) {
	t.Parallel()
	const imp = `import "github.com/truecost/truecost/domain/tenancy"` + "\n"
	for _, tc := range []struct {
		name, dir, file, src string
		want                 []string // prefixes of the messages
	}{
		{"driver calls it", "graph", "resolver.go", "package graph\n" + imp + "var p = tenancy.SystemPrincipal()\n",
			[]string{"graph/resolver.go:3:9 uses tenancy.SystemPrincipal: only package main and jobs may build the system principal"}},
		{"renamed import", "views/accountspage", "handler.go", "package accountspage\nimport tn \"github.com/truecost/truecost/domain/tenancy\"\nfunc f() { _ = tn.SystemPrincipal }\n",
			[]string{"views/accountspage/handler.go:3:16 uses tenancy.SystemPrincipal"}},
		{"chained call", "graph", "chain.go", "package graph\n" + imp + "var role = tenancy.SystemPrincipal().User.Role\n",
			[]string{"graph/chain.go:3:12 uses tenancy.SystemPrincipal"}},
		{"dot import", "adapters/sqlstore", "dot.go", "package sqlstore\nimport . \"github.com/truecost/truecost/domain/tenancy\"\nvar p, q = SystemPrincipal(), p.SystemPrincipal\n",
			[]string{"adapters/sqlstore/dot.go:3:12 uses tenancy.SystemPrincipal"}},
		{"domain service", "domain/billing", "x.go", "package billing\n" + imp + "var a, b = tenancy.SystemPrincipal(), tenancy.SystemPrincipal()\n",
			[]string{"domain/billing/x.go:3:12 uses", "domain/billing/x.go:3:39 uses"}},
		{"package main", "", "demo.go", "package main\n" + imp + "var p = tenancy.SystemPrincipal()\n", nil},
		{"jobs", "jobs", "ingest.go", "package jobs\n" + imp + "var p = tenancy.SystemPrincipal()\n", nil},
		{"jobs subpackage", "jobs/cleanup", "run.go", "package cleanup\n" + imp + "var p = tenancy.SystemPrincipal()\n", nil},
		{"test file", "graph", "resolver_test.go", "package graph\n" + imp + "var p = tenancy.SystemPrincipal()\n", nil},
		{"other package's name", "graph", "other.go", "package graph\nimport \"github.com/example/tenancy\"\nvar p = tenancy.SystemPrincipal()\n", nil},
		{"other tenancy names", "graph", "ok.go", "package graph\n" + imp + "var p tenancy.Principal\nvar SystemPrincipal = 1\n", nil},
	} {
		got, err := systemPrincipalUses(tc.dir, tc.file, []byte(tc.src))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		ok := len(got) == len(tc.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.HasPrefix(got[i], tc.want[i])
		}
		if !ok {
			t.Errorf("%s: got %q, want messages starting %q", tc.name, got, tc.want)
		}
	}
}
