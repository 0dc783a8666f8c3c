// Package session keeps the console's login sessions. An operator logs in
// with an API key once; the browser then holds a random session token in an
// HttpOnly cookie. Only a SHA-256 hash of the token is stored. A session
// acts with the key that opened it, so revoking the key ends its sessions,
// and carries a CSRF token that state-changing requests must echo in a
// header (the cookie alone never authorises a change).
package session

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
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// DefaultTTL is how long a session lasts.
const DefaultTTL = 12 * time.Hour

// ErrInvalid means the token is unknown, expired, or its key was revoked.
var ErrInvalid = errors.New("session: invalid or expired session")

// Session is a live login.
type Session struct {
	KeyID   int64     `json:"key_id"`
	KeyName string    `json:"key_name"`
	Scope   string    `json:"scope"`
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created_at"`
	Expires time.Time `json:"expires_at"`
}

// CheckCSRF compares a request's CSRF header with the session's token in
// constant time.
func (s Session) CheckCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// Store keeps sessions in the database.
type Store struct {
	db  *store.DB
	ttl time.Duration
	now func() time.Time
}

// New returns a session store; ttl <= 0 means DefaultTTL.
func New(db *store.DB, ttl time.Duration) *Store {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Store{db: db, ttl: ttl, now: func() time.Time { return time.Now().UTC() }}
}

// TTL is the lifetime of new sessions.
func (s *Store) TTL() time.Duration { return s.ttl }

func random() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Create opens a session for the (already verified) API key keyID and
// returns its secret token; expired sessions are dropped on the way.
func (s *Store) Create(ctx context.Context, keyID int64) (string, Session, error) {
	token, err := random()
	if err != nil {
		return "", Session{}, fmt.Errorf("session: create: %w", err)
	}
	csrf, err := random()
	if err != nil {
		return "", Session{}, fmt.Errorf("session: create: %w", err)
	}
	now := s.now()
	db := s.db
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`DELETE FROM console_sessions WHERE expires_at < ?`), now); err != nil {
		return "", Session{}, fmt.Errorf("session: prune: %w", err)
	}
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO console_sessions(hash, key_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
		hash(token), keyID, csrf, now, now.Add(s.ttl)); err != nil {
		return "", Session{}, fmt.Errorf("session: create: %w", err)
	}
	ss, err := s.Lookup(ctx, token)
	return token, ss, err
}

// Lookup returns the live session of token, or ErrInvalid.
func (s *Store) Lookup(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 200 {
		return Session{}, ErrInvalid
	}
	db := s.db
	var ss Session
	var revoked, keyExpires sql.NullTime
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT s.key_id, k.name, k.scope, s.csrf, s.created_at, s.expires_at, k.revoked_at, k.expires_at
		FROM console_sessions s JOIN api_keys k ON k.id = s.key_id WHERE s.hash = ?`), hash(token)).
		Scan(&ss.KeyID, &ss.KeyName, &ss.Scope, &ss.CSRF, &ss.Created, &ss.Expires, &revoked, &keyExpires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrInvalid
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: lookup: %w", err)
	}
	// A session ends with its key: revoked or expired.
	if revoked.Valid || !s.now().Before(ss.Expires) || (keyExpires.Valid && !s.now().Before(keyExpires.Time)) {
		return Session{}, ErrInvalid
	}
	return ss, nil
}

// Delete ends the session of token (logout). Unknown tokens are no error.
func (s *Store) Delete(ctx context.Context, token string) error {
	db := s.db
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`DELETE FROM console_sessions WHERE hash = ?`), hash(token)); err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}
