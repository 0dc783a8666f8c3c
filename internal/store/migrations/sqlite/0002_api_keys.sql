-- API keys: only a SHA-256 hash of each key is stored. Keys are 32 random
-- bytes, so an unsalted fast hash is enough to make a leaked table useless.
CREATE TABLE api_keys (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL DEFAULT '',
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	scope TEXT NOT NULL CHECK (scope IN ('admin', 'ingest', 'read')),
	created_at TIMESTAMP NOT NULL,
	last_used_at TIMESTAMP,
	revoked_at TIMESTAMP
);
