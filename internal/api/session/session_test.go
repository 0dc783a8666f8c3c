package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

func TestSessionLifecycle(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { testSessionLifecycle(t, o.Open(t)) })
	}
}

func testSessionLifecycle(t *testing.T, db *store.DB) {
	ctx := context.Background()
	keys := apikey.New(db)
	_, k, err := keys.Create(ctx, apikey.ScopeAdmin, "ops")
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, time.Hour)
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	token, ss, err := s.Create(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ss.KeyID != k.ID || ss.KeyName != "ops" || ss.Scope != "admin" || len(ss.CSRF) < 40 || !ss.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("session %+v", ss)
	}
	other, _, err := s.Create(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if other == token {
		t.Fatal("two sessions got the same token")
	}

	for _, tc := range []struct {
		name, csrf string
		ok         bool
	}{{"right", ss.CSRF, true}, {"empty", "", false}, {"wrong", ss.CSRF[:len(ss.CSRF)-1] + "x", false}} {
		if got := ss.CheckCSRF(tc.csrf); got != tc.ok {
			t.Errorf("CheckCSRF(%s) = %v", tc.name, got)
		}
	}

	for _, bad := range []string{"", "nope", token + "x"} {
		if _, err := s.Lookup(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Lookup(%q): %v, want ErrInvalid", bad, err)
		}
	}
	now = now.Add(59 * time.Minute)
	if _, err := s.Lookup(ctx, token); err != nil {
		t.Errorf("Lookup before expiry: %v", err)
	}
	now = now.Add(time.Minute)
	if _, err := s.Lookup(ctx, token); !errors.Is(err, ErrInvalid) {
		t.Errorf("Lookup at expiry: %v, want ErrInvalid", err)
	}

	now = time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	token, _, err = s.Create(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Read.QueryRow(`SELECT COUNT(*) FROM console_sessions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d stored sessions (%v), want the expired ones pruned", n, err)
	}
	if err := s.Delete(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, token); !errors.Is(err, ErrInvalid) {
		t.Errorf("Lookup after logout: %v", err)
	}

	token, _, _ = s.Create(ctx, k.ID)
	if err := keys.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, token); !errors.Is(err, ErrInvalid) {
		t.Errorf("Lookup after the key was revoked: %v", err)
	}
}
