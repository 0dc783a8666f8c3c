-- Local features (XFeat keypoints and int8 descriptors, internal/vision
-- LocalFeatures binary form) for instance verification: of each matched
-- track's verification crop, so a re-match verifies without decoding, and
-- of each product image's main item by image content, so a product is
-- described once.
CREATE TABLE video_track_local (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	track_id INTEGER NOT NULL,
	features BYTEA NOT NULL,
	PRIMARY KEY (video_id, track_id)
);

CREATE TABLE product_local_features (
	image_sha256 TEXT PRIMARY KEY,
	model TEXT NOT NULL,
	features BYTEA NOT NULL
);
