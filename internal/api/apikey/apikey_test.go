package apikey

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db)
}

func TestCreateVerifyRevoke(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	secret, k, err := s.Create(ctx, ScopeIngest, "uploader")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, Prefix) || k.Scope != "ingest" || k.Name != "uploader" || !strings.HasPrefix(secret, k.Prefix) {
		t.Fatalf("secret %q key %+v", secret, k)
	}
	var stored string
	s.db.Read.QueryRow(`SELECT hash FROM api_keys WHERE id = ?`, k.ID).Scan(&stored)
	if strings.Contains(stored, secret[len(Prefix):]) || stored != hash(secret) {
		t.Fatalf("stored %q is not the hash of the key", stored)
	}
	got, err := s.Verify(ctx, secret)
	if err != nil || got.ID != k.ID || got.ScopeValue() != ScopeIngest {
		t.Fatalf("verify: %+v %v", got, err)
	}
	// last_used_at is recorded in the background.
	deadline := time.Now().Add(5 * time.Second)
	for {
		keys, _ := s.List(ctx)
		if len(keys) == 1 && keys[0].LastUsedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("last_used_at never recorded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, bad := range []string{"", "vtr_short", secret + "x", strings.Replace(secret, "vtr_", "abc_", 1)} {
		if _, err := s.Verify(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("verify %q: %v", bad, err)
		}
	}
	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, secret); !errors.Is(err, ErrInvalid) {
		t.Errorf("revoked key verified: %v", err)
	}
	if err := s.Revoke(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke missing: %v", err)
	}
	keys, _ := s.List(ctx)
	if len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Errorf("list %+v", keys)
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		have, need Scope
		ok         bool
	}{
		{ScopeAdmin, ScopeRead, true}, {ScopeAdmin, ScopeAdmin, true}, {ScopeIngest, ScopeRead, true},
		{ScopeIngest, ScopeAdmin, false}, {ScopeRead, ScopeIngest, false}, {ScopeRead, ScopeRead, true},
	}
	for _, tc := range tests {
		if tc.have.Allows(tc.need) != tc.ok {
			t.Errorf("%s allows %s = %v", tc.have, tc.need, !tc.ok)
		}
	}
	for _, s := range []string{"admin", "ingest", "read"} {
		if sc, err := ParseScope(s); err != nil || sc.String() != s {
			t.Errorf("ParseScope(%q) = %v %v", s, sc, err)
		}
	}
	if _, err := ParseScope("root"); err == nil {
		t.Error("ParseScope(root): no error")
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	first, err := s.Bootstrap(ctx, "")
	if err != nil || first == "" {
		t.Fatalf("first bootstrap: %q %v", first, err)
	}
	if k, err := s.Verify(ctx, first); err != nil || k.ScopeValue() != ScopeAdmin {
		t.Fatalf("bootstrap key: %+v %v", k, err)
	}
	again, err := s.Bootstrap(ctx, "")
	if err != nil || again != "" {
		t.Fatalf("second bootstrap printed a key again: %q %v", again, err)
	}

	s2 := newStore(t)
	env, _ := Generate()
	for range 2 {
		if out, err := s2.Bootstrap(ctx, env); err != nil || out != "" {
			t.Fatalf("env bootstrap: %q %v", out, err)
		}
	}
	if keys, _ := s2.List(ctx); len(keys) != 1 {
		t.Errorf("env key imported %d times", len(keys))
	}
	if _, err := s2.Bootstrap(ctx, "password"); err == nil {
		t.Error("weak env key accepted")
	}
}
