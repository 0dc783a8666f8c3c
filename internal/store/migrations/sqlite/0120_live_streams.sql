-- Live streams (vitrine live, POST /v1/live): the source and its state
-- (running, stopping, stopped, failed), how far analysis lags behind the
-- stream, the frames it dropped to keep up and the items announced so far.
-- owner and heartbeat_at say which server process runs a stream: another
-- one takes it over when the heartbeat is stale (a crashed server), and a
-- restarted server resumes the streams left running.
CREATE TABLE live_streams (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL,
	state TEXT NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	lag_s REAL NOT NULL DEFAULT 0,
	frames INTEGER NOT NULL DEFAULT 0,
	dropped INTEGER NOT NULL DEFAULT 0,
	reconnects INTEGER NOT NULL DEFAULT 0,
	items INTEGER NOT NULL DEFAULT 0,
	owner TEXT NOT NULL DEFAULT '',
	heartbeat_at TIMESTAMP,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	ended_at TIMESTAMP
);
CREATE INDEX live_streams_state ON live_streams(state);

-- The items announced in a live stream, one row per item.start, closed by
-- its item.end.
CREATE TABLE live_items (
	stream_id TEXT NOT NULL REFERENCES live_streams(id) ON DELETE CASCADE,
	item_id TEXT NOT NULL,
	product_id TEXT NOT NULL,
	label TEXT NOT NULL DEFAULT '',
	confidence REAL NOT NULL DEFAULT 0,
	first_s REAL NOT NULL,
	start_s REAL NOT NULL,
	end_s REAL,
	PRIMARY KEY (stream_id, item_id)
);
