package video

import (
	"context"
	"database/sql"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/sample"
)

// sampledFrame is a frame chosen for detection.
type sampledFrame struct {
	Frame     int
	T         float64
	Shot      int
	Sharpness float64
}

// chooseFrames picks the frames to analyse with internal/sample: at most
// rate frames per second of each shot, the sharpest of each slot, away from
// transitions and black frames, none from a black hold.
func chooseFrames(d decodeOutput, rate float64) []sampledFrame {
	picks := sample.Plan(d.candidates(), sample.ShotsFrom(d.Shots), sample.Options{Rate: rate})
	out := make([]sampledFrame, 0, len(picks))
	for _, p := range picks {
		out = append(out, sampledFrame{Frame: p.Index, T: p.PTS, Shot: d.Shots.Shots[p.Shot].Index, Sharpness: p.Sharpness})
	}
	return out
}

// sample chooses the frames to run detection on.
func (s *Service) sample(ctx context.Context, sc *jobs.StepContext) error {
	var d decodeOutput
	if err := sc.Output(StepDecode, &d); err != nil {
		return err
	}
	frames := chooseFrames(d, s.cfg.SampleFPS)
	db := s.deps.DB
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM video_frames WHERE video_id = ?`), sc.Subject); err != nil {
			return err
		}
		for _, f := range frames {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_frames(video_id, frame, t, shot, sharpness) VALUES (?, ?, ?, ?, ?)`),
				sc.Subject, f.Frame, f.T, f.Shot, f.Sharpness); err != nil {
				return err
			}
		}
		return nil
	})
	return sc.SetOutput(map[string]int{"frames": len(frames)})
}
