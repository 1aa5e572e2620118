package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRule keeps the hexagon honest: domain imports nothing of this
// module outside domain and no SDK, SQL or HTTP package; adapters import no
// driver; drivers (graph, views, jobs) reach adapters only through main.
func TestDependencyRule(t *testing.T) {
	const mod = "github.com/truecost/truecost/"
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbiddenInDomain := []string{"net/http", "database/sql", "github.com/uptrace/bun", "github.com/jackc/",
		"modernc.org/sqlite", "github.com/aws/", "github.com/Azure/", "cloud.google.com/", "github.com/oracle/",
		"github.com/99designs/gqlgen", "github.com/a-h/templ"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var pkg struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(pkg.ImportPath, mod)
		layer := strings.SplitN(rel, "/", 2)[0]
		for _, imp := range pkg.Imports {
			irel, own := strings.CutPrefix(imp, mod)
			ilayer := strings.SplitN(irel, "/", 2)[0]
			switch layer {
			case "domain":
				if own && ilayer != "domain" {
					t.Errorf("%s imports %s: domain must not reach outside domain", rel, irel)
				}
				for _, f := range forbiddenInDomain {
					if strings.HasPrefix(imp, f) {
						t.Errorf("%s imports %s: no SDK, SQL or HTTP in domain", rel, imp)
					}
				}
			case "adapters":
				if own && (ilayer == "graph" || ilayer == "views" || ilayer == "jobs") {
					t.Errorf("%s imports driver %s", rel, irel)
				}
			case "graph", "views", "jobs":
				if own && ilayer == "adapters" && !strings.HasSuffix(pkg.ImportPath, "_test") {
					t.Errorf("driver %s imports adapter %s; adapters reach drivers through main", rel, irel)
				}
			}
		}
	}
}
