package commerce

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// PublishableKey is a read-only key meant to be embedded in a web page. It
// only opens the public read path (shoppable documents, product details,
// event ingestion) and only for pages on its Origins.
type PublishableKey struct {
	Key       string     `json:"key"`
	Name      string     `json:"name"`
	Origins   []string   `json:"origins"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// KeyPrefix starts every publishable key.
const KeyPrefix = "pk_"

// ErrUnknownKey is returned for keys that do not exist or are revoked.
var ErrUnknownKey = errors.New("commerce: unknown or revoked publishable key")

// Keys stores publishable keys in the database and caches lookups briefly,
// since every public request checks one.
type Keys struct {
	db  *store.DB
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[string]keyCacheEntry
}

type keyCacheEntry struct {
	k       *PublishableKey // nil: known not to exist
	fetched time.Time
}

// NewKeys returns the key store of db. A revoked key stops working within
// cacheTTL (0 means 10 s).
func NewKeys(db *store.DB, cacheTTL time.Duration) *Keys {
	if cacheTTL <= 0 {
		cacheTTL = 10 * time.Second
	}
	return &Keys{db: db, ttl: cacheTTL, now: time.Now, cache: map[string]keyCacheEntry{}}
}

// NormalizeOrigin checks an allowed-origin pattern and returns its canonical
// form: "*", "https://shop.example", "http://localhost:8080" or
// "https://*.example.com".
func NormalizeOrigin(o string) (string, error) {
	o = strings.TrimSpace(o)
	if o == "*" {
		return o, nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("commerce: origin %q is not scheme://host[:port]", o)
	}
	if strings.Contains(strings.TrimPrefix(u.Host, "*."), "*") {
		return "", fmt.Errorf("commerce: origin %q: only a leading *. wildcard is allowed", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Create makes a new key for the given origins.
func (k *Keys) Create(ctx context.Context, name string, origins []string) (PublishableKey, error) {
	if len(origins) == 0 {
		return PublishableKey{}, errors.New("commerce: create publishable key: at least one origin is needed (\"*\" for any)")
	}
	norm := make([]string, 0, len(origins))
	for _, o := range origins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return PublishableKey{}, fmt.Errorf("commerce: create publishable key: %w", err)
		}
		norm = append(norm, n)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return PublishableKey{}, fmt.Errorf("commerce: create publishable key: %w", err)
	}
	pk := PublishableKey{Key: KeyPrefix + hex.EncodeToString(b[:]), Name: name, Origins: norm, CreatedAt: k.now().UTC()}
	_, err := k.db.Write.ExecContext(ctx, k.db.Rebind(
		`INSERT INTO publishable_keys (key, name, origins, created_at) VALUES (?, ?, ?, ?)`),
		pk.Key, pk.Name, strings.Join(pk.Origins, " "), pk.CreatedAt)
	if err != nil {
		return PublishableKey{}, fmt.Errorf("commerce: create publishable key: %w", err)
	}
	return pk, nil
}

// List returns every key, newest first.
func (k *Keys) List(ctx context.Context) ([]PublishableKey, error) {
	rows, err := k.db.Read.QueryContext(ctx,
		`SELECT key, name, origins, created_at, revoked_at FROM publishable_keys ORDER BY created_at DESC, key`)
	if err != nil {
		return nil, fmt.Errorf("commerce: list publishable keys: %w", err)
	}
	defer rows.Close()
	var out []PublishableKey
	for rows.Next() {
		pk, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("commerce: list publishable keys: %w", err)
		}
		out = append(out, pk)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("commerce: list publishable keys: %w", err)
	}
	return out, nil
}

// Revoke disables key.
func (k *Keys) Revoke(ctx context.Context, key string) error {
	res, err := k.db.Write.ExecContext(ctx, k.db.Rebind(
		`UPDATE publishable_keys SET revoked_at = ? WHERE key = ? AND revoked_at IS NULL`), k.now().UTC(), key)
	if err != nil {
		return fmt.Errorf("commerce: revoke publishable key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("commerce: revoke publishable key: %w", ErrUnknownKey)
	}
	k.mu.Lock()
	delete(k.cache, key)
	k.mu.Unlock()
	return nil
}

// Lookup returns an active key, or ErrUnknownKey.
func (k *Keys) Lookup(ctx context.Context, key string) (*PublishableKey, error) {
	if !strings.HasPrefix(key, KeyPrefix) || len(key) > 64 {
		return nil, ErrUnknownKey
	}
	now := k.now()
	k.mu.Lock()
	e, ok := k.cache[key]
	k.mu.Unlock()
	if ok && now.Sub(e.fetched) < k.ttl {
		if e.k == nil {
			return nil, ErrUnknownKey
		}
		return e.k, nil
	}
	row := k.db.Read.QueryRowContext(ctx, k.db.Rebind(
		`SELECT key, name, origins, created_at, revoked_at FROM publishable_keys WHERE key = ?`), key)
	pk, err := scanKey(row)
	var found *PublishableKey
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("commerce: look up publishable key: %w", err)
	case pk.RevokedAt == nil:
		found = &pk
	}
	k.mu.Lock()
	if len(k.cache) > 10000 { // unknown keys are remembered too; keep it bounded
		clear(k.cache)
	}
	k.cache[key] = keyCacheEntry{k: found, fetched: now}
	k.mu.Unlock()
	if found == nil {
		return nil, ErrUnknownKey
	}
	return found, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanKey(s scanner) (PublishableKey, error) {
	var pk PublishableKey
	var origins string
	var revoked sql.NullTime
	if err := s.Scan(&pk.Key, &pk.Name, &origins, &pk.CreatedAt, &revoked); err != nil {
		return pk, err
	}
	pk.Origins = strings.Fields(origins)
	if revoked.Valid {
		t := revoked.Time
		pk.RevokedAt = &t
	}
	return pk, nil
}

// AllowsOrigin reports whether a page at origin (scheme://host[:port]) may use
// the key.
func (pk *PublishableKey) AllowsOrigin(origin string) bool {
	origin = strings.ToLower(origin)
	for _, o := range pk.Origins {
		if o == "*" || o == origin {
			return true
		}
		// https://*.example.com matches https://shop.example.com, not
		// https://example.com nor https://evil-example.com.
		if scheme, host, ok := strings.Cut(o, "://*."); ok {
			if rest, ok := strings.CutPrefix(origin, scheme+"://"); ok && strings.HasSuffix(rest, "."+host) {
				return true
			}
		}
	}
	return false
}
