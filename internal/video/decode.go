package video

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/sample"
	"github.com/vitrine-dev/vitrine/internal/shots"
)

// decodeOutput is what one low-resolution pass over the video yields.
type decodeOutput struct {
	Frames int          `json:"frames"`
	PTS    []float64    `json:"pts"`   // per decoded frame
	Sharp  []float32    `json:"sharp"` // per decoded frame: Laplacian variance
	Shots  shots.Result `json:"shots"`
}

// decode streams the video once at low resolution through shot detection
// and a per-frame sharpness measure.
func (s *Service) decode(ctx context.Context, sc *jobs.StepContext) error {
	path, info, err := s.probedSource(ctx, sc)
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
