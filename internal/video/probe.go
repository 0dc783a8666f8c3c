package video

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/media"
)

// probe reads the container and stream facts and rejects unusable input.
func (s *Service) probe(ctx context.Context, sc *jobs.StepContext) error {
	path, err := s.localPath(ctx, sc.Subject)
	if err != nil {
		return err
	}
	info, err := s.deps.Media.Probe(ctx, path)
	if err != nil {
		return err
	}
	if info.DisplayW <= 0 || info.DisplayH <= 0 {
		return fmt.Errorf("probe: %w: no frame size", media.ErrInvalidMedia)
	}
	fps := info.FPS
	if fps <= 0 || fps > 1000 {
		fps = info.AvgFPS
	}
	if err := sc.SetOutput(info); err != nil {
		return err
	}
	db := s.deps.DB
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`UPDATE videos SET state = ?, duration_s = ?, width = ?, height = ?, fps = ?, rotation = ?,
			frame_count = ?, video_codec = ?, audio_codec = ?, updated_at = ? WHERE id = ?`),
			StateProcessing, info.Duration, info.DisplayW, info.DisplayH, fps, info.Rotation, info.FrameCount,
			info.VideoCodec, info.AudioCodec, s.now(), sc.Subject)
		return err
	})
	return nil
}

// probedSource returns the local path of the step's video and what the
// probe step found in it: the decode and detect steps read both.
func (s *Service) probedSource(ctx context.Context, sc *jobs.StepContext) (string, media.Info, error) {
	path, err := s.localPath(ctx, sc.Subject)
	if err != nil {
		return "", media.Info{}, err
	}
	var info media.Info
	if err := sc.Output(StepProbe, &info); err != nil {
		return "", media.Info{}, err
	}
	return path, info, nil
}

// SourceKey is the blob key of an uploaded video.
func SourceKey(videoID string) string { return "videos/" + videoID + "/source" }
