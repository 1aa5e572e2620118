// Package static serves the console's stylesheets and browser scripts from
// files embedded in the binary. css/ is written by hand; vendor/ holds
// third-party scripts copied from node_modules by the Makefile (it is not
// committed, so the embed pattern below matches even when vendor/ is absent).
package static

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Prefix is the URL path under which Handler serves the files.
const Prefix = "/static/"

//go:embed *
var files embed.FS

// FS returns the embedded asset files, without the package's Go sources.
func FS() fs.FS { return assetFS{files} }

// Handler serves the embedded assets under Prefix. Anything that is not an
// asset (directories, Go sources) is a 404.
func Handler() http.Handler {
	fileServer := http.FileServerFS(FS())
	return http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if st, err := fs.Stat(FS(), name); err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fileServer.ServeHTTP(w, r)
	}))
}

// assetFS hides the package's own Go files from the embedded tree.
type assetFS struct{ fs.FS }

func (a assetFS) Open(name string) (fs.File, error) {
	if strings.HasSuffix(name, ".go") {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return a.FS.Open(name)
}
