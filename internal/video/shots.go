package video

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/jobs"
)

// shotRow is one stored shot.
type shotRow struct {
	Index      int
	StartS     float64
	EndS       float64
	StartFrame int
	EndFrame   int // exclusive
	Transition string
	KeyFrame   int
	KeyframeS  float64
	Thumbnail  string
}

// ThumbnailKey is the blob key of a shot's keyframe thumbnail.
func ThumbnailKey(videoID string, shot int) string {
	return "videos/" + videoID + "/shots/" + strconv.Itoa(shot) + ".jpg"
}

// planShots turns the detector's shots into stored shots. A shot's
// keyframe is its sharpest sampled frame (the middle frame of a shot with
// nothing to sample, such as a black hold); the detect step replaces it
// with the same frame decoded at detector size.
func planShots(d decodeOutput, frames []sampledFrame) []shotRow {
	best := map[int]sampledFrame{}
	for _, f := range frames {
		if b, ok := best[f.Shot]; !ok || f.Sharpness > b.Sharpness {
			best[f.Shot] = f
		}
	}
	out := make([]shotRow, 0, len(d.Shots.Shots))
	for _, sh := range d.Shots.Shots {
		r := shotRow{Index: sh.Index, StartS: sh.Start, EndS: sh.End, StartFrame: sh.StartFrame, EndFrame: sh.EndFrame, Transition: string(sh.Transition)}
		if b, ok := best[sh.Index]; ok {
			r.KeyFrame, r.KeyframeS = b.Frame, b.T
		} else {
			r.KeyFrame = max(0, min((sh.StartFrame+sh.EndFrame)/2, len(d.PTS)-1))
			if r.KeyFrame < len(d.PTS) {
				r.KeyframeS = d.PTS[r.KeyFrame]
			}
		}
		out = append(out, r)
	}
	return out
}

// shots stores the shots. Their keyframe thumbnails are written by the
// detect step, which decodes the sampled frames anyway.
func (s *Service) shots(ctx context.Context, sc *jobs.StepContext) error {
	var d decodeOutput
	if err := sc.Output(StepDecode, &d); err != nil {
		return err
	}
	rows := planShots(d, chooseFrames(d, s.cfg.SampleFPS))
	db := s.deps.DB
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM video_shots WHERE video_id = ?`), sc.Subject); err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_shots(video_id, idx, start_s, end_s, start_frame, end_frame, transition, keyframe_s, thumbnail_key)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')`), sc.Subject, r.Index, r.StartS, r.EndS, r.StartFrame, r.EndFrame, r.Transition, r.KeyframeS); err != nil {
				return err
			}
		}
		return nil
	})
	return sc.SetOutput(map[string]int{"shots": len(rows)})
}
