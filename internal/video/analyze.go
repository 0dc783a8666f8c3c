package video

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/media"
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
	err = s.deps.Media.Frames(ctx, path, media.FrameOptions{MaxWidth: s.cfg.AnalysisSize, MaxHeight: s.cfg.AnalysisSize, Info: &info}, func(f media.Frame) error {
		if err := det.Add(shots.Frame(f)); err != nil {
			return err
		}
		out.PTS = append(out.PTS, f.PTS)
		out.Sharp = append(out.Sharp, float32(laplacianVar(f.Pix, f.Width, f.Height)))
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

// laplacianVar is the variance of the 4-neighbour Laplacian of the luma of
// an RGB24 frame: a standard focus measure, comparable between frames of
// one video.
func laplacianVar(pix []byte, w, h int) float64 {
	if w < 3 || h < 3 || len(pix) < 3*w*h {
		return 0
	}
	luma := func(x, y int) float64 {
		i := 3 * (y*w + x)
		return 0.299*float64(pix[i]) + 0.587*float64(pix[i+1]) + 0.114*float64(pix[i+2])
	}
	var sum, sum2 float64
	n := 0
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			l := luma(x-1, y) + luma(x+1, y) + luma(x, y-1) + luma(x, y+1) - 4*luma(x, y)
			sum += l
			sum2 += l * l
			n++
		}
	}
	m := sum / float64(n)
	return sum2/float64(n) - m*m
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
	// usable frame range, away from gradual transitions
	useFrom, useTo int
}

// ThumbnailKey is the blob key of a shot's keyframe thumbnail.
func ThumbnailKey(videoID string, shot int) string {
	return "videos/" + videoID + "/shots/" + strconv.Itoa(shot) + ".jpg"
}

// SourceKey is the blob key of an uploaded video.
func SourceKey(videoID string) string { return "videos/" + videoID + "/source" }

// planShots turns the detector's shots into stored shots with their usable
// frame range (gradual transitions excluded) and sharpest keyframe.
func planShots(d decodeOutput) []shotRow {
	var out []shotRow
	ss := d.Shots.Shots
	for i, sh := range ss {
		r := shotRow{Index: sh.Index, StartS: sh.Start, EndS: sh.End, StartFrame: sh.StartFrame, EndFrame: sh.EndFrame, Transition: string(sh.Transition)}
		r.useFrom, r.useTo = sh.StartFrame, sh.EndFrame
		if sh.Transition.Gradual() {
			r.useFrom = max(r.useFrom, sh.TransitionEnd+1)
		}
		if i+1 < len(ss) && ss[i+1].Transition.Gradual() {
			r.useTo = min(r.useTo, ss[i+1].TransitionStart)
		}
		if r.useTo <= r.useFrom { // all transition: use the whole shot
			r.useFrom, r.useTo = sh.StartFrame, sh.EndFrame
		}
		r.useFrom = max(0, min(r.useFrom, d.Frames-1))
		r.useTo = max(r.useFrom+1, min(r.useTo, d.Frames))
		// Keyframe: the sharpest frame of the middle 60% of the usable range.
		n := r.useTo - r.useFrom
		lo, hi := r.useFrom+n/5, r.useTo-n/5
		if hi <= lo {
			lo, hi = r.useFrom, r.useTo
		}
		r.KeyFrame = lo
		for f := lo; f < hi; f++ {
			if d.Sharp[f] > d.Sharp[r.KeyFrame] {
				r.KeyFrame = f
			}
		}
		r.KeyframeS = d.PTS[r.KeyFrame]
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
	rows := planShots(d)
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

// chooseFrames picks, per shot, at most rate frames per second: the
// sharpest frame of each 1/rate slot of the usable range, and at least one
// frame per shot.
func chooseFrames(d decodeOutput, rows []shotRow, rate float64) []sampledFrame {
	var out []sampledFrame
	for _, r := range rows {
		t0 := d.PTS[r.useFrom]
		slot := func(f int) int { return int(math.Floor((d.PTS[f] - t0) * rate)) }
		best := map[int]int{}
		for f := r.useFrom; f < r.useTo; f++ {
			k := slot(f)
			if b, ok := best[k]; !ok || d.Sharp[f] > d.Sharp[b] {
				best[k] = f
			}
		}
		var fs []int
		for _, f := range best {
			fs = append(fs, f)
		}
		sort.Ints(fs)
		for _, f := range fs {
			out = append(out, sampledFrame{Frame: f, T: d.PTS[f], Shot: r.Index, Sharpness: float64(d.Sharp[f])})
		}
	}
	return out
}

// sample chooses the frames to run detection on.
func (s *Service) sample(ctx context.Context, sc *jobs.StepContext) error {
	var d decodeOutput
	if err := sc.Output(StepDecode, &d); err != nil {
		return err
	}
	frames := chooseFrames(d, planShots(d), s.cfg.SampleFPS)
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
