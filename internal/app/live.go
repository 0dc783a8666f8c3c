package app

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/live"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/video"
)

// NewLive returns the live-stream manager of a serving process: streams
// are analysed by the video service's models and catalog, and HLS, RTMP
// and SRT sources connected to under the same address rules as catalog
// images (fetch_allow_private).
func (a *App) NewLive() (*live.Manager, error) {
	tool := &media.Tool{MaxMemory: a.Config.FFmpegMaxMemory, MaxPixels: a.Config.MaxVideoPixels, MaxDuration: a.Config.MaxVideoDuration, Logger: a.Log}
	return live.New(live.Config{
		DB:    a.DB,
		Media: tool,
		// Segments are a few seconds of video: well under 64 MiB.
		Fetcher: fetch.New(fetch.Config{MaxBytes: 64 << 20, Timeout: 30 * time.Second, AllowPrivate: a.Config.FetchAllowPrivate}),
		NewAnalyzer: func(ctx context.Context) (live.Analyzer, error) {
			return a.Video.NewLiveAnalyzer(ctx, video.LiveConfig{})
		},
		Exclusive: a.Owner && !a.Shared,
		Remote:    !a.RunsLive(),
		// A network stream's recording becomes a video, analysed and
		// reviewable like any upload, when the stream ends.
		Recordings: filepath.Join(a.Config.DataDir, "live"),
		OnRecorded: func(ctx context.Context, s live.Stream, path string) (string, error) {
			f, err := os.Open(path)
			if err != nil {
				return "", err
			}
			defer f.Close()
			name := "live-" + s.ID + ".ts"
			if s.Name != "" {
				name = s.Name + " - " + name
			}
			v, err := a.Video.Add(ctx, f, name, a.Config.MaxUploadBytes)
			if err != nil {
				return "", err
			}
			return v.ID, nil
		},
		Logger: a.Log,
	})
}

// RunsLive reports whether this process runs live streams: it runs
// workflow steps (serve with workers).
func (a *App) RunsLive() bool { return a.Owner && a.Config.Workers > 0 }
