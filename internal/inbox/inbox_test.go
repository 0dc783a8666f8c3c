package inbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWatcher drops files into a real directory and checks where each
// ends up, in both handling modes.
func TestWatcher(t *testing.T) {
	for _, tc := range []struct {
		name            string
		parallel, stamp bool
	}{
		{"sequential", false, false},
		{"parallel stamped", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var mu sync.Mutex
			handled := map[string]string{} // name -> content read
			keepOnce := true
			w := &Watcher{
				Dir: dir, Name: "test inbox", Parallel: tc.parallel, Stamp: tc.stamp,
				Poll: 20 * time.Millisecond, Stable: 150 * time.Millisecond,
				Accept: func(e fs.DirEntry) bool { return e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".txt") },
				Handle: func(ctx context.Context, path string) error {
					b, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					name := filepath.Base(path)
					mu.Lock()
					defer mu.Unlock()
					handled[name] = string(b)
					switch {
					case name == "bad.txt":
						return errors.New("bad content")
					case name == "keep.txt" && keepOnce:
						keepOnce = false
						return fmt.Errorf("not yet: %w", ErrKeep)
					}
					return nil
				},
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()

			// Written in two parts with a pause shorter than Stable: read whole.
			slow := filepath.Join(dir, "slow.txt")
			if err := os.WriteFile(slow, []byte("part one;"), 0o600); err != nil {
				t.Fatal(err)
			}
			time.Sleep(60 * time.Millisecond)
			f, err := os.OpenFile(slow, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("part two")
			f.Close()
			for name, body := range map[string]string{"bad.txt": "x", "keep.txt": "k", ".hidden.txt": "h", "other.dat": "o"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			find := func(sub, name string) string {
				m, _ := filepath.Glob(filepath.Join(dir, sub, "*"+name))
				for _, p := range m {
					if b := filepath.Base(p); b == name || (tc.stamp && strings.HasSuffix(b, "Z-"+name)) {
						return p
					}
				}
				return ""
			}
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) && (find("processed", "slow.txt") == "" || find("failed", "bad.txt") == "" || find("processed", "keep.txt") == "") {
				time.Sleep(20 * time.Millisecond)
			}
			for _, c := range []struct{ sub, name string }{{"processed", "slow.txt"}, {"failed", "bad.txt"}, {"processed", "keep.txt"}} {
				if find(c.sub, c.name) == "" {
					t.Errorf("%s not in %s/", c.name, c.sub)
				}
			}
			mu.Lock()
			if handled["slow.txt"] != "part one;part two" {
				t.Errorf("slow.txt read as %q", handled["slow.txt"])
			}
			if _, ok := handled[".hidden.txt"]; ok {
				t.Error("hidden file handled")
			}
			if _, ok := handled["other.dat"]; ok {
				t.Error("file not accepted was handled")
			}
			mu.Unlock()
			if note, err := os.ReadFile(find("failed", "bad.txt") + ".error.txt"); err != nil || string(note) != "bad content\n" {
				t.Errorf("error note %q, %v", note, err)
			}
			if find("processed", "keep.txt") != "" && find("failed", "keep.txt.error.txt") != "" {
				t.Error("kept file got an error note")
			}
			for _, name := range []string{".hidden.txt", "other.dat"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Errorf("%s was moved: %v", name, err)
				}
			}
		})
	}
}

func TestWatcherNeedsHandlers(t *testing.T) {
	w := &Watcher{Dir: t.TempDir(), Name: "test inbox"}
	if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "Accept and Handle") {
		t.Fatalf("Run without handlers: %v", err)
	}
}
