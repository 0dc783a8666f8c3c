package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestCatalogCommand drives the real binary: import with per-row failures,
// re-import as a no-op, text/image search, similar, delete, and the exit
// status of a file-level error.
func TestCatalogCommand(t *testing.T) {
	env := cleanEnv(append(sharedEnv(t), "VITRINE_LOG_LEVEL=warn")...)
	samples := testenv.Samples(t, filepath.Join("catalog", "images"))
	src := filepath.Join(samples, "catalog", "images")
	feed := t.TempDir()
	os.MkdirAll(filepath.Join(feed, "img"), 0o755)
	for _, id := range []string{"16331", "12644", "14942"} {
		b, err := os.ReadFile(filepath.Join(src, id+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(feed, "img", id+".jpg"), b, 0o644)
	}
	csv := filepath.Join(feed, "products.csv")
	os.WriteFile(csv, []byte("sku,title,category,price,currency,image\n"+
		"p1,Blue striped polo,Tshirts,19.90,EUR,img/16331.jpg\n"+
		"p2,White polo,Tshirts,24.50,EUR,img/12644.jpg\n"+
		"p3,Black tee,Tshirts,abc,EUR,img/14942.jpg\n"+
		"p4,Missing image,Tshirts,5,EUR,img/nope.jpg\n"), 0o644)
	data := t.TempDir()

	out, errOut, code := vitrine(t, env, "catalog", "import", csv, "--data-dir", data, "--quiet")
	if code != 0 || !strings.Contains(out, "partial: 4 rows: 2 added, 0 updated, 0 unchanged, 2 failed") ||
		!strings.Contains(out, "bad price") || !strings.Contains(out, "not found") {
		t.Fatalf("import: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	prof := filepath.Join(t.TempDir(), "import.prof")
	out, errOut, code = vitrine(t, env, "catalog", "import", csv, "--data-dir", data, "--quiet", "--json", "--cpuprofile", prof)
	var s struct{ Unchanged, Failed, Added int }
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.Unchanged != 2 || s.Added != 0 {
		t.Fatalf("re-import: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if b, err := os.ReadFile(prof); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("re-import --cpuprofile: %d bytes, %v; want a gzipped profile", len(b), err)
	}

	out, _, code = vitrine(t, env, "catalog", "search", "--data-dir", data, "--text", "striped")
	if code != 0 || !strings.Contains(out, "p1") || strings.Contains(out, "p2") {
		t.Errorf("text search: exit %d\n%s", code, out)
	}
	out, errOut, code = vitrine(t, env, "catalog", "search", "--data-dir", data, "--image", filepath.Join(feed, "img", "12644.jpg"), "--k", "1", "--json")
	var img struct {
		Items []struct {
			Label   string
			Results []struct{ Product struct{ ID string } }
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &img) != nil || len(img.Items) == 0 {
		t.Fatalf("image search: exit %d\n%s\n%s", code, out, errOut)
	}
	if last := img.Items[len(img.Items)-1]; last.Label != "image" || len(last.Results) != 1 || last.Results[0].Product.ID != "p2" {
		t.Errorf("image search: %+v", img.Items)
	}
	out, _, code = vitrine(t, env, "catalog", "similar", "p1", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "p2") || strings.Contains(out, " p1 ") {
		t.Errorf("similar: exit %d\n%s", code, out)
	}
	out, _, code = vitrine(t, env, "catalog", "delete", "p1", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "1 deleted") {
		t.Errorf("delete: exit %d\n%s", code, out)
	}
	out, _, code = vitrine(t, env, "catalog", "similar", "p2", "--data-dir", data)
	if code != 0 || strings.Contains(out, "p1") {
		t.Errorf("similar after delete: exit %d\n%s", code, out)
	}

	// A file whose every row fails (its images are not beside it) is a
	// failed import: exit non-zero, with the reasons and what to do.
	lone := filepath.Join(t.TempDir(), "lone.csv")
	os.WriteFile(lone, []byte("sku,title,image\nq1,Alone,img/16331.jpg\nq2,Alone too,img/12644.jpg\n"), 0o644)
	out, errOut, code = vitrine(t, env, "catalog", "import", lone, "--data-dir", data, "--quiet")
	if code == 0 || !strings.Contains(out, "failed: 2 rows") || !strings.Contains(out, "not found") || !strings.Contains(out, "hint: ") ||
		!strings.Contains(errOut, "all 2 rows failed") {
		t.Errorf("import where every row failed: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	bad := filepath.Join(feed, "noid.csv")
	os.WriteFile(bad, []byte("title,price\nx,1\n"), 0o644)
	_, errOut, code = vitrine(t, env, "catalog", "import", bad, "--data-dir", data)
	if code == 0 || !strings.Contains(errOut, "no product id column") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("file-level error: exit %d, stderr %q (want one line)", code, errOut)
	}
	_, _, code = vitrine(t, env, "catalog", "search", "--data-dir", data)
	if code == 0 {
		t.Error("search without --text or --image exited 0")
	}
}

func TestCatalogFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("id\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one := write("one/products.csv")
	write("one/images/1.jpg")
	write("two/products.csv")
	write("two/products.jsonl")
	write("none/other.csv")
	file := write("feed.xml")
	for _, tc := range []struct {
		name, path, want, err string
	}{
		{"a file is itself", file, file, ""},
		{"a missing path is left to the import", filepath.Join(dir, "missing.csv"), filepath.Join(dir, "missing.csv"), ""},
		{"a directory's products file", filepath.Join(dir, "one"), one, ""},
		{"a directory without one", filepath.Join(dir, "none"), "", "without a products file"},
		{"a directory with several", filepath.Join(dir, "two"), "", "several products files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := catalogFile(tc.path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("catalogFile(%s) = %q, %v; want an error with %q", tc.path, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("catalogFile(%s) = %q, %v; want %q", tc.path, got, err, tc.want)
			}
		})
	}
}
