-- Catalog feeds kept in sync (vitrine catalog sync): the validators of the
-- last download, so the next one is conditional, and the batch that last
-- imported the feed, whose products vanish when the next one lacks them.
CREATE TABLE catalog_feeds (
	source TEXT PRIMARY KEY,
	etag TEXT NOT NULL DEFAULT '',
	last_modified TEXT NOT NULL DEFAULT '',
	content_sha256 TEXT NOT NULL DEFAULT '',
	last_batch BIGINT NOT NULL DEFAULT 0,
	checked_at TIMESTAMP,
	synced_at TIMESTAMP
);
