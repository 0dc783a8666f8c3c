-- Console login sessions and review edits.
--
-- A session is created when an operator enters an API key in the console;
-- only a SHA-256 hash of its random token is stored (as for API keys), and
-- it acts with the scope of the key that opened it: revoking the key ends
-- its sessions. csrf is the token the console sends back in X-CSRF-Token on
-- every state-changing request.
CREATE TABLE console_sessions (
	hash TEXT PRIMARY KEY,
	key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
	csrf TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions(expires_at);

-- Review edits: an operator's decision on one detected item of a video.
-- Edits are append-only (the newest per item wins, older ones are the
-- history). An item is identified by its id in the shoppable document plus
-- its shot and time span, so an edit still finds its item after a re-match
-- (same id) or a re-analysis (best time overlap in the same shot and label).
-- action: approve, reject, replace or reset (back to the automatic match).
CREATE TABLE review_edits (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	video_id TEXT NOT NULL,
	item_id TEXT NOT NULL,
	shot INTEGER NOT NULL,
	label TEXT NOT NULL DEFAULT '',
	start_s REAL NOT NULL,
	end_s REAL NOT NULL,
	action TEXT NOT NULL CHECK (action IN ('approve', 'reject', 'replace', 'reset')),
	product_id TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT '',
	actor_key_id INTEGER NOT NULL DEFAULT 0,
	actor TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX review_edits_video ON review_edits(video_id, id);
