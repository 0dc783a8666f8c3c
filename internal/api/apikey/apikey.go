// Package apikey issues, verifies and revokes vitrine's scoped API keys.
// Only a SHA-256 hash of each key is stored: keys are 32 random bytes, so a
// fast unsalted hash cannot be brute-forced and lookups stay one indexed read.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// Scope is what a key may do. Scopes are ordered: admin > ingest > read.
type Scope int

// Scopes, from weakest to strongest. ScopeNone marks public routes.
const (
	ScopeNone Scope = iota
	ScopeRead
	ScopeIngest
	ScopeAdmin
)

// Prefix starts every key, so leaked keys are recognisable by scanners.
const Prefix = "vtr_"

// Errors returned (wrapped) by Store.
var (
	ErrInvalid  = errors.New("apikey: invalid, revoked or expired key")
	ErrNotFound = errors.New("apikey: key not found")
)

// ParseScope reads "admin", "ingest" or "read".
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "admin":
		return ScopeAdmin, nil
	case "ingest":
		return ScopeIngest, nil
	case "read":
		return ScopeRead, nil
	}
	return ScopeNone, fmt.Errorf("apikey: unknown scope %q (want admin, ingest or read)", s)
}

func (s Scope) String() string {
	switch s {
	case ScopeAdmin:
		return "admin"
	case ScopeIngest:
		return "ingest"
	case ScopeRead:
		return "read"
	}
	return "none"
}

// Allows reports whether a key of scope s may use a route that needs need.
func (s Scope) Allows(need Scope) bool { return s >= need }

// Key is a stored key, without its secret.
type Key struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Expired reports whether the key has expired at now.
func (k Key) Expired(now time.Time) bool { return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) }

// ScopeValue is the key's scope as a Scope.
func (k Key) ScopeValue() Scope { s, _ := ParseScope(k.Scope); return s }

// Store keeps keys in the database.
type Store struct {
	db *store.DB

	mu       sync.Mutex
	lastSeen map[int64]time.Time // throttles last_used_at writes
}

// New returns a key store on db.
func New(db *store.DB) *Store { return &Store{db: db, lastSeen: map[int64]time.Time{}} }

// Generate returns a new random key secret.
func Generate() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("apikey: generate: %w", err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CheckFormat reports whether secret looks like a vitrine key.
func CheckFormat(secret string) error {
	if !strings.HasPrefix(secret, Prefix) || len(secret) < len(Prefix)+32 {
		return fmt.Errorf("apikey: a key starts with %q and has at least 32 characters after it", Prefix)
	}
	return nil
}

// Create issues a new key of scope and returns its secret (shown once).
func (s *Store) Create(ctx context.Context, scope Scope, name string) (string, Key, error) {
	return s.CreateExpiring(ctx, scope, name, time.Time{})
}

// CreateExpiring is Create for a key that stops working at expires (the
// zero time: never).
func (s *Store) CreateExpiring(ctx context.Context, scope Scope, name string, expires time.Time) (string, Key, error) {
	if !expires.IsZero() && !expires.After(time.Now()) {
		return "", Key{}, fmt.Errorf("apikey: create: expiry %s is in the past", expires.UTC().Format(time.RFC3339))
	}
	secret, err := Generate()
	if err != nil {
		return "", Key{}, err
	}
	k, err := s.Import(ctx, secret, scope, name)
	if err != nil || expires.IsZero() {
		return secret, k, err
	}
	exp := expires.UTC()
	if _, err := s.db.Write.ExecContext(ctx, s.db.Rebind(`UPDATE api_keys SET expires_at = ? WHERE id = ?`), exp, k.ID); err != nil {
		return "", Key{}, fmt.Errorf("apikey: create: set expiry: %w", err)
	}
	k.ExpiresAt = &exp
	return secret, k, nil
}

// Import stores a key whose secret the operator chose (VITRINE_ADMIN_KEY).
// Importing a key that already exists returns it unchanged.
func (s *Store) Import(ctx context.Context, secret string, scope Scope, name string) (Key, error) {
	if err := CheckFormat(secret); err != nil {
		return Key{}, err
	}
	if scope < ScopeRead || scope > ScopeAdmin {
		return Key{}, fmt.Errorf("apikey: create: bad scope %d", scope)
	}
	now := time.Now().UTC()
	_, err := s.db.Write.ExecContext(ctx, s.db.Rebind(`INSERT INTO api_keys(name, prefix, hash, scope, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`),
		name, secret[:len(Prefix)+6], hash(secret), scope.String(), now)
	if err != nil {
		return Key{}, fmt.Errorf("apikey: create: %w", err)
	}
	return s.byHash(ctx, s.db.Write, hash(secret))
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

const cols = `id, name, prefix, hash, scope, created_at, last_used_at, revoked_at, expires_at`

func scanKey(row interface{ Scan(...any) error }) (Key, string, error) {
	var k Key
	var h string
	var used, revoked, expires sql.NullTime
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &h, &k.Scope, &k.CreatedAt, &used, &revoked, &expires); err != nil {
		return k, "", err
	}
	if used.Valid {
		k.LastUsedAt = &used.Time
	}
	if revoked.Valid {
		k.RevokedAt = &revoked.Time
	}
	if expires.Valid {
		k.ExpiresAt = &expires.Time
	}
	return k, h, nil
}

func (s *Store) byHash(ctx context.Context, q querier, h string) (Key, error) {
	k, _, err := scanKey(q.QueryRowContext(ctx, s.db.Rebind(`SELECT `+cols+` FROM api_keys WHERE hash = ?`), h))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrNotFound
	}
	if err != nil {
		return Key{}, fmt.Errorf("apikey: lookup: %w", err)
	}
	return k, nil
}

// Verify returns the active key with this secret, or ErrInvalid.
func (s *Store) Verify(ctx context.Context, secret string) (Key, error) {
	if CheckFormat(secret) != nil {
		return Key{}, ErrInvalid
	}
	want := hash(secret)
	k, got, err := scanKey(s.db.Read.QueryRowContext(ctx, s.db.Rebind(`SELECT `+cols+` FROM api_keys WHERE hash = ?`), want))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrInvalid
	}
	if err != nil {
		return Key{}, fmt.Errorf("apikey: verify: %w", err)
	}
	// The index lookup already matched; the constant-time compare keeps the
	// final decision free of timing differences.
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 || k.RevokedAt != nil || k.Expired(time.Now()) {
		return Key{}, ErrInvalid
	}
	s.touch(ctx, k.ID)
	return k, nil
}

// touch records use at most once a minute per key, so reads stay reads.
func (s *Store) touch(ctx context.Context, id int64) {
	now := time.Now().UTC()
	s.mu.Lock()
	due := now.Sub(s.lastSeen[id]) > time.Minute
	if due {
		s.lastSeen[id] = now
	}
	s.mu.Unlock()
	if due {
		// Best effort and off the request path: the single SQLite writer may
		// be busy with a long transaction, and a read must not wait for it.
		go func() {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_, _ = s.db.Write.ExecContext(wctx, s.db.Rebind(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`), now, id)
		}()
	}
}

// List returns all keys, newest first.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+cols+` FROM api_keys ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("apikey: list: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, _, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("apikey: list: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Revoke disables key id. Revoking twice is not an error.
func (s *Store) Revoke(ctx context.Context, id int64) error {
	res, err := s.db.Write.ExecContext(ctx, s.db.Rebind(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`), time.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("apikey: revoke %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("apikey: revoke %d: %w", id, ErrNotFound)
	}
	return nil
}

// Bootstrap makes sure an admin key exists. With envKey set it is imported
// (idempotently) and "" is returned; otherwise, when there is no active key
// at all, a new admin key is created and its secret returned to be shown once.
func (s *Store) Bootstrap(ctx context.Context, envKey string) (string, error) {
	if envKey != "" {
		if _, err := s.Import(ctx, envKey, ScopeAdmin, "bootstrap (VITRINE_ADMIN_KEY)"); err != nil {
			return "", fmt.Errorf("apikey: bootstrap from VITRINE_ADMIN_KEY: %w", err)
		}
		return "", nil
	}
	var n int
	if err := s.db.Write.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`), time.Now().UTC()).Scan(&n); err != nil {
		return "", fmt.Errorf("apikey: bootstrap: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	secret, _, err := s.Create(ctx, ScopeAdmin, "bootstrap")
	if err != nil {
		return "", fmt.Errorf("apikey: bootstrap: %w", err)
	}
	return secret, nil
}
