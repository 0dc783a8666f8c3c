package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// TestSessionEndsWithKeyExpiry: a console session opened with a key stops
// working when the key expires, even though the session itself has not.
func TestSessionEndsWithKeyExpiry(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) {
			ctx := context.Background()
			db := o.Open(t)
			_, k, err := apikey.New(db).CreateExpiring(ctx, apikey.ScopeAdmin, "temp", time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			s := New(db, 24*time.Hour)
			token, _, err := s.Create(ctx, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Lookup(ctx, token); err != nil {
				t.Fatalf("session of an unexpired key: %v", err)
			}
			if _, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE api_keys SET expires_at = ? WHERE id = ?`), time.Now().UTC().Add(-time.Second), k.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Lookup(ctx, token); !errors.Is(err, ErrInvalid) {
				t.Errorf("session of an expired key: %v, want ErrInvalid", err)
			}
		})
	}
}
