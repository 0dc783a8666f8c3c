-- The video a live stream's recording became once the stream ended
-- (analysed as any upload; empty while running or without a recording).
ALTER TABLE live_streams ADD COLUMN video_id TEXT NOT NULL DEFAULT '';
