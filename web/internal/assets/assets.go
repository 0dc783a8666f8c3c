// Package assets serves a fixed tree of embedded static files (the console
// and the player) from memory, with strong ETags and conditional GETs.
package assets

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Sub returns the tree below dir of an embedded file system. The embedded
// tree is fixed at build time, so a missing dir is a programming error.
func Sub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // fixed at build time
	}
	return sub
}

// Options say how a tree is served.
type Options struct {
	// Index is the file served for "/" ("" serves nothing there).
	Index string
	// Headers are set on every response for a file, besides ETag and
	// X-Content-Type-Options: nosniff.
	Headers map[string]string
}

type asset struct {
	body  []byte
	etag  string
	ctype string
}

// Handler serves the files of fsys at its root (mount it with
// http.StripPrefix) for GET and HEAD. The files are read once, here.
func Handler(fsys fs.FS, opt Options) http.Handler {
	assets := map[string]asset{}
	// Reading an embedded tree does not fail; a file that did would be 404.
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		assets["/"+p] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:10]) + `"`, ctype: contentType(p)}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if p == "/" && opt.Index != "" {
			p = "/" + opt.Index
		}
		a, ok := assets[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for k, v := range opt.Headers {
			h.Set(k, v)
		}
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.Contains(r.Header.Get("If-None-Match"), a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", a.ctype)
		if r.Method == http.MethodHead {
			return
		}
		w.Write(a.body)
	})
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}
