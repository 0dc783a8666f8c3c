-- PostgreSQL twin of sqlite/0020_video.sql (REAL → DOUBLE PRECISION, BLOB → BYTEA,
-- counters and ids → BIGINT).
-- Videos and the artifacts of their analysis workflow. Each step of the
-- workflow writes its output here before the next step starts, so a crash
-- resumes at the failed step, and a re-match after a catalog change reads the
-- stored track embeddings instead of decoding the video again.
CREATE TABLE videos (
	id TEXT PRIMARY KEY,
	source TEXT NOT NULL DEFAULT '',
	blob_key TEXT NOT NULL,
	size_bytes BIGINT NOT NULL DEFAULT 0,
	state TEXT NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	workflow_id BIGINT,
	duration_s DOUBLE PRECISION NOT NULL DEFAULT 0,
	width INTEGER NOT NULL DEFAULT 0,
	height INTEGER NOT NULL DEFAULT 0,
	fps DOUBLE PRECISION NOT NULL DEFAULT 0,
	rotation INTEGER NOT NULL DEFAULT 0,
	frame_count BIGINT NOT NULL DEFAULT 0,
	video_codec TEXT NOT NULL DEFAULT '',
	audio_codec TEXT NOT NULL DEFAULT '',
	doc_version INTEGER NOT NULL DEFAULT 0,
	-- models that analysed the video, recorded by the detect step
	detector TEXT NOT NULL DEFAULT '',
	embedder TEXT NOT NULL DEFAULT '',
	appearance TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	ready_at TIMESTAMP
);
CREATE INDEX videos_state ON videos(state);
CREATE INDEX videos_created ON videos(created_at);

-- transition says how the shot begins: none, cut, fade or dissolve.
CREATE TABLE video_shots (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	start_s DOUBLE PRECISION NOT NULL,
	end_s DOUBLE PRECISION NOT NULL,
	start_frame INTEGER NOT NULL,
	end_frame INTEGER NOT NULL,
	transition TEXT NOT NULL,
	keyframe_s DOUBLE PRECISION,
	thumbnail_key TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (video_id, idx)
);

-- Sampled frames: the ones the detector runs on.
CREATE TABLE video_frames (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	frame INTEGER NOT NULL,
	t DOUBLE PRECISION NOT NULL,
	shot INTEGER NOT NULL,
	sharpness DOUBLE PRECISION NOT NULL DEFAULT 0,
	detected INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (video_id, frame)
);

-- Boxes are normalised to the frame (0..1). source is "detector" (a
-- shoppable detector class), "garment" (a region of a person box) or
-- "proposal" (a box of any other class, kept for the matcher to judge);
-- grp is what tracking may link (same group, same object). The quality
-- columns and vectors (little-endian float32) feed crop selection and
-- matching without decoding the frame again.
CREATE TABLE video_detections (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	frame INTEGER NOT NULL,
	k INTEGER NOT NULL,
	t DOUBLE PRECISION NOT NULL,
	shot INTEGER NOT NULL,
	label TEXT NOT NULL,
	score DOUBLE PRECISION NOT NULL,
	x0 DOUBLE PRECISION NOT NULL,
	y0 DOUBLE PRECISION NOT NULL,
	x1 DOUBLE PRECISION NOT NULL,
	y1 DOUBLE PRECISION NOT NULL,
	source TEXT NOT NULL,
	grp TEXT NOT NULL,
	sharpness DOUBLE PRECISION NOT NULL DEFAULT 0,
	edge_cut DOUBLE PRECISION NOT NULL DEFAULT 0,
	occlusion DOUBLE PRECISION NOT NULL DEFAULT 0,
	embedding BYTEA,
	appearance BYTEA,
	colour BYTEA,
	track_id INTEGER,
	PRIMARY KEY (video_id, frame, k)
);

-- review/product_id carry the reviewer's decision (auto, approved,
-- rejected, replaced) into the assembled document.
CREATE TABLE video_tracks (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	track_id INTEGER NOT NULL,
	shot INTEGER NOT NULL,
	label TEXT NOT NULL,
	start_s DOUBLE PRECISION NOT NULL,
	end_s DOUBLE PRECISION NOT NULL,
	n_dets INTEGER NOT NULL,
	boxes TEXT NOT NULL,
	review TEXT NOT NULL DEFAULT 'auto',
	product_id TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (video_id, track_id)
);

-- The embeddings of each track's best crops, kept so a catalog change can
-- re-match without decoding. kind: crop (product embedder), appearance
-- (re-ID model), colour (histogram). Vectors are little-endian float32.
CREATE TABLE video_track_embeddings (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	track_id INTEGER NOT NULL,
	k INTEGER NOT NULL,
	kind TEXT NOT NULL,
	model TEXT NOT NULL,
	frame INTEGER NOT NULL,
	t DOUBLE PRECISION NOT NULL,
	quality DOUBLE PRECISION NOT NULL,
	dim INTEGER NOT NULL,
	vector BYTEA NOT NULL,
	PRIMARY KEY (video_id, track_id, kind, k)
);

CREATE TABLE video_matches (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	track_id INTEGER NOT NULL,
	rank INTEGER NOT NULL,
	product_id TEXT NOT NULL,
	score DOUBLE PRECISION NOT NULL,
	catalog_version TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (video_id, track_id, rank)
);
CREATE INDEX video_matches_product ON video_matches(product_id);

-- Every assembled vitrine.shoppable/v1 document is kept; the highest version
-- is the published one.
CREATE TABLE shoppable_docs (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	workflow_id BIGINT NOT NULL DEFAULT 0,
	catalog_version TEXT NOT NULL DEFAULT '',
	doc TEXT NOT NULL,
	vtt TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	published_at TIMESTAMP,
	PRIMARY KEY (video_id, version)
);

CREATE TABLE video_webhook_deliveries (
	id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	url TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	status INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	delivered_at TIMESTAMP,
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX video_webhook_deliveries_video ON video_webhook_deliveries(video_id);
