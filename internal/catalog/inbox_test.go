package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/fetch"
)

func TestInbox(t *testing.T) {
	dir, _ := writeFixture(t) // the inbox: images/ lives in it
	e := newEnv(t, fetch.Config{})
	r := startRunner(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	ib := &catalog.Inbox{Dir: dir, Ingester: e.in, Runner: r, Poll: 50 * time.Millisecond, Stable: 300 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	// A file written in two parts, the second after a pause shorter than
	// Stable: it must be read whole.
	path := filepath.Join(dir, "drop.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("id,name,image\na,A,images/16331.jpg\n")
	f.Sync()
	time.Sleep(150 * time.Millisecond)
	f.WriteString("b,B,images/12644.jpg\n")
	f.Close()
	// A file with a file-level error, renamed into place.
	tmp := filepath.Join(dir, ".bad.csv.part")
	os.WriteFile(tmp, []byte("name\nno id column\n"), 0o644)
	os.Rename(tmp, filepath.Join(dir, "bad.csv"))
	// Other files are ignored.
	os.WriteFile(filepath.Join(dir, "readme.txt"), []byte("ignored"), 0o644)

	deadline := time.Now().Add(60 * time.Second)
	var processed, failed []string
	for time.Now().Before(deadline) {
		processed, _ = filepath.Glob(filepath.Join(dir, "processed", "*-drop.csv"))
		failed, _ = filepath.Glob(filepath.Join(dir, "failed", "*-bad.csv"))
		if len(processed) == 1 && len(failed) == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(processed) != 1 || len(failed) != 1 {
		t.Fatalf("processed %v failed %v", processed, failed)
	}
	for _, id := range []string{"a", "b"} {
		p, err := e.st.Get(context.Background(), id)
		if err != nil || p.Status != catalog.StatusReady {
			t.Errorf("product %s: %+v %v", id, p, err)
		}
	}
	msg, err := os.ReadFile(failed[0] + ".error.txt")
	if err != nil || !strings.Contains(string(msg), "no product id column") {
		t.Errorf("error file: %q %v", msg, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "readme.txt")); err != nil {
		t.Errorf("unrelated file was moved: %v", err)
	}
}
