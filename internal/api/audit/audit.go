// Package audit keeps the append-only log of admin actions: every request
// to a route that needs the admin scope, with the key that made it, the
// outcome and the client address, whether it was allowed or refused.
package audit

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// Entry is one logged request.
type Entry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	KeyID     *int64    `json:"key_id,omitempty"`
	KeyPrefix string    `json:"key_prefix,omitempty"`
	Scope     string    `json:"scope,omitempty"`
	Method    string    `json:"method"`
	Route     string    `json:"route"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	Remote    string    `json:"remote,omitempty"`
}

// Log writes and reads the audit log.
type Log struct{ db *store.DB }

// New returns the audit log on db.
func New(db *store.DB) *Log { return &Log{db: db} }

// Record appends e; At defaults to now.
func (l *Log) Record(ctx context.Context, e Entry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	var key any
	if e.KeyID != nil {
		key = *e.KeyID
	}
	_, err := l.db.Write.ExecContext(ctx, l.db.Rebind(`INSERT INTO audit_log(at, key_id, key_prefix, scope, method, route, path, status, remote)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), e.At.UTC(), key, e.KeyPrefix, e.Scope, e.Method, e.Route, truncate(e.Path, 2048), e.Status, truncate(e.Remote, 128))
	if err != nil {
		return fmt.Errorf("audit: record %s %s: %w", e.Method, e.Path, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// List returns up to limit entries, newest first, older than before when
// before > 0 (paging by id).
func (l *Log) List(ctx context.Context, limit int, before int64) ([]Entry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT id, at, key_id, key_prefix, scope, method, route, path, status, remote FROM audit_log`
	args := []any{}
	if before > 0 {
		q += ` WHERE id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := l.db.Read.QueryContext(ctx, l.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var key sql.NullInt64
		if err := rows.Scan(&e.ID, &e.At, &key, &e.KeyPrefix, &e.Scope, &e.Method, &e.Route, &e.Path, &e.Status, &e.Remote); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		if key.Valid {
			e.KeyID = &key.Int64
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return out, nil
}
