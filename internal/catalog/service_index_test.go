package catalog

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// TestServiceIndexWithoutModels checks that Index opens the catalog's
// index without loading the models, that the searcher loaded later shares
// it, and that an index of another model or size is refused.
func TestServiceIndexWithoutModels(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite().Open(t)
	svc := NewService(db, nil, nil, nil, nil)
	putReady(t, svc.Store, "p1", "top", []float32{1, 0, 0, 0})
	opened, followed := 0, 0
	svc.OpenModels = func(context.Context) (*Models, error) {
		opened++
		return &Models{Model: "m", Dim: 4}, nil
	}
	svc.OnIndex = func(*Index) { followed++ }

	ix, err := svc.Index(ctx, "m", 4)
	if err != nil {
		t.Fatal(err)
	}
	if opened != 0 {
		t.Errorf("Index opened the models %d times, want 0", opened)
	}
	if ix.Len() != 1 {
		t.Errorf("index holds %d vectors, want 1", ix.Len())
	}
	again, err := svc.Index(ctx, "m", 4)
	if err != nil || again != ix {
		t.Errorf("second Index: %p, %v; want the same index %p", again, err, ix)
	}
	s, err := svc.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if opened != 1 || s.Index != ix {
		t.Errorf("searcher: models opened %d times, index %p; want 1 and the index Index returned (%p)", opened, s.Index, ix)
	}
	if followed != 1 {
		t.Errorf("OnIndex called %d times, want 1", followed)
	}

	for _, tc := range []struct {
		model string
		dim   int
	}{{"other", 4}, {"m", 8}} {
		if _, err := svc.Index(ctx, tc.model, tc.dim); err == nil || !strings.Contains(err.Error(), "wanted") {
			t.Errorf("Index(%q, %d) on the index of m: %v, want a mismatch error", tc.model, tc.dim, err)
		}
	}
}

// TestServiceIndexMismatchedModels checks that models naming another
// embedder than the index already open fail to load, and close.
func TestServiceIndexMismatchedModels(t *testing.T) {
	ctx := context.Background()
	svc := NewService(storetest.SQLite().Open(t), nil, nil, nil, nil)
	closed := false
	svc.OpenModels = func(context.Context) (*Models, error) {
		return &Models{Model: "other", Dim: 4, Closer: closerFunc(func() error { closed = true; return nil })}, nil
	}
	if _, err := svc.Index(ctx, "m", 4); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Searcher(ctx); err == nil || errors.Is(err, ErrNoModels) {
		t.Errorf("searcher with models of another embedder: %v, want a mismatch error", err)
	}
	if !closed {
		t.Error("the mismatched models were not closed")
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
