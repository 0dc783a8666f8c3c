-- Settings and API keys. Every later domain adds its own numbered file:
-- 0001-0009 foundation, 0010-0019 catalog, 0020-0029 video,
-- 0030-0039 commerce/analytics, 0040-0049 console/review, 0050+ security.
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
