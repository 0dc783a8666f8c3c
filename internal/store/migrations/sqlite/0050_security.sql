-- Security: API keys may expire, and admin actions are kept in an
-- append-only audit log (who, what, when, from where, with what outcome).
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP;

CREATE TABLE audit_log (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at TIMESTAMP NOT NULL,
	key_id BIGINT,
	key_prefix TEXT NOT NULL DEFAULT '',
	scope TEXT NOT NULL DEFAULT '',
	method TEXT NOT NULL,
	route TEXT NOT NULL,
	path TEXT NOT NULL,
	status INTEGER NOT NULL,
	remote TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
