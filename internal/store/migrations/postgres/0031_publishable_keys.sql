-- PostgreSQL twin of sqlite/0031_publishable_keys.sql (REAL → DOUBLE PRECISION, BLOB → BYTEA,
-- counters and ids → BIGINT).
-- Publishable keys: read-only keys that are meant to appear in web pages.
-- Each is restricted to a list of page origins (space separated; "*" allows
-- any), checked against the Origin/Referer of every public request.
CREATE TABLE publishable_keys (
	key TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	origins TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	revoked_at TIMESTAMP
);
