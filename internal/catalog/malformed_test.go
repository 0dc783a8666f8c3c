package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// writeFixture lays out a catalog directory: a few real sample images, a
// non-image file, and an image outside the directory (for traversal).
func writeFixture(t *testing.T) (dir string, img []byte) {
	t.Helper()
	samples := testenv.Samples(t)
	root := t.TempDir()
	dir = filepath.Join(root, "feed")
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"16331", "12644", "14942"} {
		b, err := os.ReadFile(filepath.Join(samples, "catalog", "images", id+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "images", id+".jpg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		img = b
	}
	// A JPEG cut short: its header is valid, its body is not.
	if err := os.WriteFile(filepath.Join(dir, "images", "cut.jpg"), img[:len(img)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "images", "notes.jpg"), []byte("these are not image bytes, just text"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A 32x32 PNG of a red square on white, well under 1 KiB.
	tiny := image.NewRGBA(image.Rect(0, 0, 32, 32))
	draw.Draw(tiny, tiny.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(tiny, image.Rect(8, 8, 24, 24), image.NewUniform(color.RGBA{R: 255, A: 255}), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, tiny); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "images", "tiny.png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "outside.jpg"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink inside the directory that points out of it.
	if err := os.Symlink(filepath.Join(root, "outside.jpg"), filepath.Join(dir, "images", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	return dir, img
}

func TestImportMalformed(t *testing.T) {
	dir, img := writeFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/img.jpg":
			w.Write(img)
		case "/page.html":
			w.Write([]byte("<html><body>product page</body></html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	tests := []malformedCase{
		{
			name: "csv",
			file: "products.csv",
			content: "id,name,price,image\n" +
				"a,Good A,10,images/16331.jpg\n" +
				"b,Bad price,ten,images/12644.jpg\n" +
				"a,Duplicate,11,images/14942.jpg\n" +
				"c,Unknown image,5,images/nope.jpg\n" +
				"d,Not an image,5,images/notes.jpg\n" +
				"e,Traversal,5,../outside.jpg\n" +
				"f,Good F,7,images/14942.jpg|images/12644.jpg\n" +
				"g,No image,7,\n" +
				"h,URL image," + "3," + srv.URL + "/img.jpg\n" +
				"i,URL page,3," + srv.URL + "/page.html\n" +
				"j,URL missing,3," + srv.URL + "/gone.jpg\n" +
				"k,Truncated,3,images/cut.jpg\n" +
				"l,Symlink out,3,images/link.jpg\n",
			fetch: fetch.Config{AllowPrivate: true},
			want: map[string]string{"a": "", "b": "bad price", "line 4": "duplicate id", "c": "not found", "d": "not an image",
				"e": "escapes", "f": "", "g": "", "h": "", "i": "not an image", "j": "404", "k": "corrupt", "l": "escapes"},
		},
		{
			name:    "csv loopback URL refused by default",
			file:    "products.csv",
			content: "id,image\nh," + srv.URL + "/img.jpg\nk,images/16331.jpg\n",
			want:    map[string]string{"h": "not allowed", "k": ""},
		},
		{
			name:     "oversize image",
			file:     "products.csv",
			content:  "id,image\nbig,images/16331.jpg\nsmall,images/tiny.png\n",
			maxBytes: 1024,
			want:     map[string]string{"big": "too large", "small": ""},
		},
		{
			// A CSV uploaded without its images: every row fails, the
			// batch is failed, and the summary says what the file needs.
			name:     "csv whose images are not beside it",
			file:     "products.csv",
			content:  "id,image\nm1,pics/m1.jpg\nm2,pics/m2.jpg\n",
			want:     map[string]string{"m1": "not found", "m2": "not found"},
			wantHint: "ZIP",
		},
		{
			name:    "csv without id column",
			file:    "products.csv",
			content: "name,price,image\nx,1,images/16331.jpg\n",
			fileErr: "no product id column",
		},
		{
			name: "jsonl",
			file: "products.jsonl",
			content: `{"id":"a","title":"Good","images":["images/16331.jpg"],"price":9.5,"currency":"eur"}
{"id":"b","price":"cheap","images":["images/12644.jpg"]}
{"id":"c","images":["images/notes.jpg"]}
{"id":"d",
{"id":"a","title":"dup"}
{"id":"e","images":["/etc/hostname"]}
{"id":"f","title":"Good F","images":["images/14942.jpg"],"availability":"preorder"}
`,
			want: map[string]string{"a": "", "b": "bad price", "c": "not an image", "line 4": "malformed JSON", "line 5": "duplicate id",
				"e": "hostname", "f": ""},
		},
	}
	for _, o := range storetest.All() {
		for _, tc := range tests {
			t.Run(o.Name+"/"+tc.name, func(t *testing.T) {
				testMalformedCase(t, newEnvOn(t, o, tc.fetch), dir, tc)
			})
		}
	}
}

type malformedCase struct {
	name    string
	file    string
	content string
	fetch   fetch.Config
	// maxBytes caps one image (0: default).
	maxBytes int64
	// want maps product id (or "line N" for rows without one) to "" for
	// success or a substring of the failure reason.
	want    map[string]string
	fileErr string
	// wantHint is a substring of the summary's hint ("" = no hint).
	wantHint string
}

func testMalformedCase(t *testing.T, e *env, dir string, tc malformedCase) {
	t.Helper()
	e.in.Limits.MaxBytes = tc.maxBytes
	ctx := context.Background()
	path := filepath.Join(dir, tc.file)
	if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := e.in.ImportFile(ctx, path, nil)
	if tc.fileErr != "" {
		if err == nil || !strings.Contains(err.Error(), tc.fileErr) {
			t.Fatalf("error = %v, want %q", err, tc.fileErr)
		}
		if s.State != "failed" {
			t.Errorf("batch state = %q, want failed", s.State)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	rows, err := e.db.Read.Query(e.db.Rebind(`SELECT line, product_id, status, reason FROM catalog_batch_rows WHERE batch_id = ?`), s.Batch)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		var line int
		var id, status, reason string
		rows.Scan(&line, &id, &status, &reason)
		key := id
		if id == "" || strings.Contains(reason, "duplicate") {
			key = "line " + strconv.Itoa(line)
		}
		if status == catalog.OutcomeFailed && reason == "" {
			t.Errorf("%s: failed without a reason", key)
		}
		got[key] = reason
		lines = append(lines, key+"="+status+":"+reason)
	}
	rows.Close()
	for k, w := range tc.want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: no row recorded; rows: %v", k, lines)
		case w == "" && g != "":
			t.Errorf("%s: unexpected failure %q", k, g)
		case w != "" && !strings.Contains(g, w):
			t.Errorf("%s: reason %q, want it to contain %q", k, g, w)
		}
	}
	failed := 0
	for _, w := range tc.want {
		if w != "" {
			failed++
		}
	}
	if s.Failed != failed || s.Total != len(tc.want) || len(s.Errors) != failed {
		t.Errorf("summary = %+v, want %d failed of %d", s, failed, len(tc.want))
	}
	// A batch with failed rows is partial, or failed when none got in.
	wantOutcome := catalog.BatchSucceeded
	switch {
	case failed == len(tc.want):
		wantOutcome = catalog.BatchFailed
	case failed > 0:
		wantOutcome = catalog.BatchPartial
	}
	if s.State != "succeeded" || s.Outcome != wantOutcome {
		t.Errorf("state %q outcome %q, want succeeded and %q (%d of %d rows failed)", s.State, s.Outcome, wantOutcome, failed, len(tc.want))
	}
	if tc.wantHint == "" && s.Hint != "" || !strings.Contains(s.Hint, tc.wantHint) {
		t.Errorf("hint %q, want %q", s.Hint, tc.wantHint)
	}
	if s.Source != tc.file {
		t.Errorf("summary source %q, want the file's name %q, not its path", s.Source, tc.file)
	}
	// Good products are stored, ready and searchable by their image.
	for id, w := range tc.want {
		if w != "" || strings.HasPrefix(id, "line") {
			continue
		}
		p, err := e.st.Get(ctx, id)
		if err != nil {
			t.Fatalf("good product %s: %v", id, err)
		}
		if p.Status != catalog.StatusReady {
			t.Errorf("good product %s: status %s (%s)", id, p.Status, p.Error)
		}
	}
	// Failed new products whose row parsed are kept, marked failed
	// with the reason, and are not in the index.
	for id, w := range tc.want {
		if w == "" || strings.HasPrefix(id, "line") {
			continue
		}
		p, err := e.st.Get(ctx, id)
		if errors.Is(err, catalog.ErrNotFound) {
			continue // the row never became a product (bad field)
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != catalog.StatusFailed || p.Error == "" {
			t.Errorf("product %s: status %q error %q, want failed with a reason", id, p.Status, p.Error)
		}
	}
}
