-- What the console shows of each synced feed: how many products its last
-- sync removed, why the last attempt failed (empty once one succeeds), and
-- when its schedule syncs it next (NULL: not scheduled).
ALTER TABLE catalog_feeds ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE catalog_feeds ADD COLUMN error TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_feeds ADD COLUMN next_at TIMESTAMP;
