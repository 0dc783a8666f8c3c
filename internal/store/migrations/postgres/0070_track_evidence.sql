-- The evidence about each matched track (internal/confidence features as
-- a JSON object), written by the match step. The assemble step turns it
-- into each item's calibrated confidence and publish decision, so a new
-- calibration applies without matching again.
CREATE TABLE video_track_evidence (
	video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	track_id INTEGER NOT NULL,
	features TEXT NOT NULL,
	PRIMARY KEY (video_id, track_id)
);
