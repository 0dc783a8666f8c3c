package app

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/selftest"
)

func testConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) (string, bool) {
		switch k {
		case "VITRINE_DATA_DIR":
			return dir, true
		case "VITRINE_POLL_INTERVAL":
			return "20ms", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDataDirLock(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, t.TempDir())
	log := NewLogger(cfg, io.Discard)
	owner, err := Open(ctx, cfg, log, Options{RequireLock: true})
	if err != nil {
		t.Fatal(err)
	}
	if !owner.Owner {
		t.Fatal("first opener does not own the data dir")
	}
	if _, err := Open(ctx, cfg, log, Options{RequireLock: true}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second serve-style open: %v, want ErrLocked", err)
	}
	client, err := Open(ctx, cfg, log, Options{RunSteps: true})
	if err != nil {
		t.Fatal(err)
	}
	if client.Owner {
		t.Error("a client became owner while the server holds the lock")
	}
	// Workflows are registered for clients too, so they can enqueue.
	if _, ok := client.Runner.Definition(selftest.Kind); !ok {
		t.Error("selftest workflow not registered")
	}
	client.Close(ctx)
	if err := owner.Close(ctx); err != nil {
		t.Fatal(err)
	}
	owner.Close(ctx) // idempotent
	again, err := Open(ctx, cfg, log, Options{RequireLock: true})
	if err != nil {
		t.Fatalf("lock not released on Close: %v", err)
	}
	again.Close(ctx)
}

func TestBadBlobURL(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Blob = "gs://nope"
	if _, err := Open(context.Background(), cfg, NewLogger(cfg, io.Discard), Options{}); err == nil {
		t.Fatal("unsupported blob URL accepted")
	}
}
