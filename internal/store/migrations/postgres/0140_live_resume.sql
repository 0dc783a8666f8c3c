-- How far a live stream's analysis got (stream time of its last analysed
-- frame) and how many times it was started: a run resumed after a crash or
-- restart continues the stream's clock and keeps its item ids apart, and
-- items a dead run left open are closed where it stopped.
ALTER TABLE live_streams ADD COLUMN position_s DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE live_streams ADD COLUMN runs INTEGER NOT NULL DEFAULT 0;
