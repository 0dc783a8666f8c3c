-- Player analytics. Counters are aggregated per UTC day, video and product so
-- they stay small however popular a video gets; the raw table keeps only the
-- most recent events (the ingest path trims it to a fixed cap).
CREATE TABLE analytics_daily (
	day TEXT NOT NULL,          -- YYYY-MM-DD, UTC
	video_id TEXT NOT NULL,
	product_id TEXT NOT NULL,   -- '' when the item had no matched product
	impressions INTEGER NOT NULL DEFAULT 0,
	clicks INTEGER NOT NULL DEFAULT 0,
	buys INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (video_id, product_id, day)
);
CREATE INDEX analytics_daily_product ON analytics_daily (product_id, day);

CREATE TABLE analytics_events (
	id INTEGER PRIMARY KEY,
	received_at TIMESTAMP NOT NULL,
	type TEXT NOT NULL,
	video_id TEXT NOT NULL,
	item_id TEXT NOT NULL,
	product_id TEXT NOT NULL,
	t REAL NOT NULL,            -- position in the video, seconds
	session TEXT NOT NULL,
	key_id TEXT NOT NULL,
	origin TEXT NOT NULL
);
