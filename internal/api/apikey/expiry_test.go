package apikey

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, _, err := s.CreateExpiring(ctx, ScopeRead, "late", time.Now().Add(-time.Second)); err == nil {
		t.Fatal("key expiring in the past created")
	}
	short, k, err := s.CreateExpiring(ctx, ScopeRead, "short", time.Now().Add(time.Hour))
	if err != nil || k.ExpiresAt == nil {
		t.Fatalf("create: %+v %v", k, err)
	}
	never, _, err := s.Create(ctx, ScopeRead, "never")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, short); err != nil {
		t.Fatalf("unexpired key refused: %v", err)
	}
	// Move the expiry into the past, as time passing would.
	if _, err := s.db.Write.Exec(`UPDATE api_keys SET expires_at = ? WHERE id = ?`, time.Now().UTC().Add(-time.Minute), k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, short); !errors.Is(err, ErrInvalid) {
		t.Errorf("expired key: %v, want ErrInvalid", err)
	}
	if _, err := s.Verify(ctx, never); err != nil {
		t.Errorf("key without expiry: %v", err)
	}
	keys, _ := s.List(ctx)
	for _, got := range keys {
		if got.ID == k.ID && (got.ExpiresAt == nil || !got.Expired(time.Now())) {
			t.Errorf("listed key %+v does not show its expiry", got)
		}
	}
}

func TestBootstrapIgnoresExpiredKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	_, k, err := s.CreateExpiring(ctx, ScopeAdmin, "old admin", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if secret, err := s.Bootstrap(ctx, ""); err != nil || secret != "" {
		t.Fatalf("bootstrap with an active key: %q %v", secret, err)
	}
	s.db.Write.Exec(`UPDATE api_keys SET expires_at = ? WHERE id = ?`, time.Now().UTC().Add(-time.Minute), k.ID)
	secret, err := s.Bootstrap(ctx, "")
	if err != nil || secret == "" {
		t.Fatalf("bootstrap with only an expired key: %q %v", secret, err)
	}
}
