package api

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type zipEntry struct {
	name string
	body []byte
	mode fs.FileMode
}

func writeZip(t *testing.T, entries []zipEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "upload.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExtractCatalogZip checks what a ZIP upload may hold: one catalog
// file with the images it names, inside the archive's folder, within the
// size limits the CLI's import applies.
func TestExtractCatalogZip(t *testing.T) {
	csv := []byte("id,image\na,images/a.jpg\n")
	const maxImage = 1000
	for _, tc := range []struct {
		name    string
		entries []zipEntry
		file    string // the catalog file found, relative
		files   int
		err     string
		sizes   map[string]int64 // extracted file sizes
	}{
		{name: "catalog and images", entries: []zipEntry{{name: "feed/products.csv", body: csv}, {name: "feed/images/a.jpg", body: []byte("jpeg")},
			{name: "__MACOSX/feed/._a.jpg", body: []byte("junk")}, {name: "feed/README.txt", body: []byte("hello")}},
			file: "feed/products.csv", files: 3, sizes: map[string]int64{"feed/images/a.jpg": 4}},
		{name: "an oversize image is cut past the limit, to fail its row", entries: []zipEntry{{name: "p.csv", body: csv}, {name: "images/a.jpg", body: bytes.Repeat([]byte{0}, 5000)}},
			file: "p.csv", files: 2, sizes: map[string]int64{"images/a.jpg": maxImage + 1}},
		{name: "parent directory", entries: []zipEntry{{name: "p.csv", body: csv}, {name: "../evil.jpg", body: []byte("x")}}, err: "outside"},
		{name: "absolute path", entries: []zipEntry{{name: "/etc/evil.csv", body: csv}}, err: "outside"},
		{name: "backslashes", entries: []zipEntry{{name: `..\evil.csv`, body: csv}}, err: "outside"},
		{name: "symbolic link", entries: []zipEntry{{name: "p.csv", body: csv}, {name: "images/a.jpg", body: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}}, err: "symbolic link"},
		{name: "no catalog file", entries: []zipEntry{{name: "images/a.jpg", body: []byte("jpeg")}}, err: "no catalog file"},
		{name: "two catalog files", entries: []zipEntry{{name: "a.csv", body: csv}, {name: "b.jsonl", body: []byte(`{"id":"a"}`)}}, err: "2 catalog files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zp := writeZip(t, tc.entries)
			dir := filepath.Join(t.TempDir(), "upload")
			if err := os.Mkdir(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			file, files, err := extractCatalogZip(zp, dir, maxImage)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if _, serr := os.Stat(filepath.Join(filepath.Dir(dir), "evil.jpg")); serr == nil {
					t.Error("an entry was written outside the upload directory")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if file != filepath.Join(dir, filepath.FromSlash(tc.file)) || files != tc.files {
				t.Errorf("catalog %s, %d files; want %s, %d", file, files, tc.file, tc.files)
			}
			for name, size := range tc.sizes {
				st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
				if err != nil || st.Size() != size {
					t.Errorf("%s: %v, size %d; want %d bytes", name, err, st.Size(), size)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "__MACOSX")); err == nil {
				t.Error("archiver junk was extracted")
			}
		})
	}
}

// TestApplyMapping renames mapped CSV columns and JSONL keys to the fields
// the importer reads, keeps a column that already feeds its field, turns a
// competing column into an attribute, and leaves the rows as they were.
func TestApplyMapping(t *testing.T) {
	// Label and Page feed nothing by their names; sku and price_eur
	// already feed theirs and keep them (price_eur its currency).
	mapping := map[string]string{"id": "sku", "title": "Label", "url": "Page", "price": "price_eur"}
	for _, tc := range []struct {
		name, file, format, in, want string
	}{
		{"csv", "feed.csv", "csv", "sku,name,Label,Page,price_eur\r\nA1,\"internal, old\",Blue tee,https://s.example/a1,12.5\r\n",
			"sku,source_name,title,url,price_eur\nA1,\"internal, old\",Blue tee,https://s.example/a1,12.5\r\n"},
		{"jsonl", "feed.jsonl", "jsonl", `{"sku":"A1","Label":"Blue tee","name":"old","Page":"https://s.example/a1"}` + "\nnot json\n",
			`{"sku":"A1","source_name":"old","title":"Blue tee","url":"https://s.example/a1"}` + "\nnot json\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(p, []byte(tc.in), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := applyMapping(p, tc.format, mapping); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if string(got) != tc.want {
				t.Errorf("mapped file:\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
