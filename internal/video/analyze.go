package video

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/sample"
	"github.com/vitrine-dev/vitrine/internal/shots"
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

// decodeOutput is what one low-resolution pass over the video yields.
type decodeOutput struct {
	Frames int          `json:"frames"`
	PTS    []float64    `json:"pts"`   // per decoded frame
	Sharp  []float32    `json:"sharp"` // per decoded frame: Laplacian variance
	Shots  shots.Result `json:"shots"`
}

func (s *Service) probeInfo(sc *jobs.StepContext) (media.Info, error) {
	var info media.Info
	if err := sc.Output(StepProbe, &info); err != nil {
		return info, err
	}
	return info, nil
}

// decode streams the video once at low resolution through shot detection
// and a per-frame sharpness measure.
func (s *Service) decode(ctx context.Context, sc *jobs.StepContext) error {
	path, err := s.localPath(ctx, sc.Subject)
	if err != nil {
		return err
	}
	info, err := s.probeInfo(sc)
	if err != nil {
		return err
	}
	fps := info.FPS
	if fps <= 0 || fps > 1000 {
		fps = info.AvgFPS
	}
	det := shots.NewDetector(shots.Config{FPS: fps})
	var out decodeOutput
	total := int64(info.FrameCount)
	err = s.deps.Media.Frames(ctx, path, media.FrameOptions{MaxWidth: s.cfg.AnalysisSize, MaxHeight: s.cfg.AnalysisSize, Info: &info, SkipLoopFilter: true}, func(f media.Frame) error {
		if err := det.Add(shots.Frame(f)); err != nil {
			return err
		}
		out.PTS = append(out.PTS, f.PTS)
		out.Sharp = append(out.Sharp, float32(sample.Sharpness(f.Width, f.Height, f.Pix)))
		if len(out.PTS)%50 == 0 {
			sc.Progress(int64(len(out.PTS)), max(total, int64(len(out.PTS))))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(out.PTS) == 0 {
		return fmt.Errorf("decode: %w: no frames decoded", media.ErrInvalidMedia)
	}
	out.Frames = len(out.PTS)
	out.Shots = det.Result()
	if len(out.Shots.Shots) == 0 {
		return errors.New("decode: shot detection returned no shots")
	}
	sc.Progress(int64(out.Frames), int64(out.Frames))
	return sc.SetOutput(out)
}

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

// SourceKey is the blob key of an uploaded video.
func SourceKey(videoID string) string { return "videos/" + videoID + "/source" }

// candidates are the decoded frames with their sharpness, in decoding
// order, as the sampler takes them.
func (d decodeOutput) candidates() []sample.Candidate {
	n := min(d.Frames, len(d.PTS), len(d.Sharp))
	out := make([]sample.Candidate, n)
	for i := range n {
		out[i] = sample.Candidate{Index: i, PTS: d.PTS[i], Sharpness: float64(d.Sharp[i])}
	}
	return out
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
