-- The part of a matched track that shows its best product: the detections
-- at the ends of a track whose own crops do not point at the product (the
-- box was on something else before the product came, or stayed after it
-- left) are outside it. NULL: the whole track.
ALTER TABLE video_matches ADD COLUMN start_s REAL;
ALTER TABLE video_matches ADD COLUMN end_s REAL;
