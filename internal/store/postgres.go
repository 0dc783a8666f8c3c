package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// MaxPostgresConns caps each process's PostgreSQL pool. Steps, API reads and
// the queue share it; PostgreSQL's own default limit is 100 connections, so
// a few dozen nodes fit.
const MaxPostgresConns = 16

// openPostgres opens a pgx pool behind database/sql (River's riverdatabasesql
// driver and every domain package keep using *sql.Tx) with the session time
// zone set to UTC, so TIMESTAMP columns hold UTC as they do in SQLite.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	if _, ok := cfg.RuntimeParams["timezone"]; !ok {
		cfg.RuntimeParams["timezone"] = "UTC"
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(MaxPostgresConns)
	pool.SetMaxIdleConns(MaxPostgresConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open postgres %s: %w", redact(cfg), err)
	}
	db := &DB{Write: pool, Read: pool, Dialect: Postgres, DSN: dsn}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// redact names the server without the password.
func redact(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// WithLock runs fn while holding the named cluster-wide lock: a PostgreSQL
// session advisory lock, so that nodes starting together apply migrations
// once. On SQLite (one process per data dir) it just runs fn.
func (db *DB) WithLock(ctx context.Context, name string, fn func() error) error {
	if db.Dialect != Postgres {
		return fn()
	}
	h := fnv.New64a()
	h.Write([]byte("vitrine:" + name))
	key := int64(h.Sum64())
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: lock %s: %w", name, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fmt.Errorf("store: lock %s: %w", name, err)
	}
	ferr := fn()
	// A fresh context: the lock must be released even when ctx is done.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
		// Closing the session releases it anyway; make sure it is closed.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(ferr, fmt.Errorf("store: unlock %s: %w", name, err))
	}
	return ferr
}

// Notify sends payload on channel to every listening node (PostgreSQL
// NOTIFY, delivered when tx commits). On SQLite it does nothing: one process
// owns the database.
func (db *DB) Notify(ctx context.Context, tx *sql.Tx, channel, payload string) error {
	if db.Dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("store: notify %s: %w", channel, err)
	}
	return nil
}

// Listen calls fn with the payload of every notification on channel until
// ctx is done; ready (when not nil) is called each time the LISTEN is in
// place, after the first connect and after each reconnect, so a caller can
// catch up on what it may have missed. It reconnects with backoff after a
// lost connection. On SQLite it calls ready once and waits for ctx.
func (db *DB) Listen(ctx context.Context, channel string, ready func(), fn func(payload string)) error {
	if db.Dialect != Postgres {
		if ready != nil {
			ready()
		}
		<-ctx.Done()
		return nil
	}
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, channel, ready, fn)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
			delay = min(2*delay, 5*time.Second)
		}
	}
	return nil
}

func (db *DB) listenOnce(ctx context.Context, channel string, ready func(), fn func(string)) error {
	conn, err := pgx.Connect(ctx, db.DSN)
	if err != nil {
		return fmt.Errorf("store: listen %s: %w", channel, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("store: listen %s: %w", channel, err)
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("store: listen %s: %w", channel, err)
		}
		fn(n.Payload)
	}
}
