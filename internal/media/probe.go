package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Info describes a media file as reported by ffprobe.
type Info struct {
	Format      string  `json:"format"`        // container, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	Duration    float64 `json:"duration_s"`    // seconds; 0 when unknown
	Size        int64   `json:"size"`          // file size in bytes
	BitRate     int64   `json:"bit_rate"`      // container bit rate, bits/s; 0 when unknown
	HasVideo    bool    `json:"has_video"`     // a decodable video stream (cover art excluded)
	HasAudio    bool    `json:"has_audio"`     //
	VideoCodec  string  `json:"video_codec"`   // e.g. "h264"
	AudioCodec  string  `json:"audio_codec"`   // e.g. "aac"; "" without audio
	PixFmt      string  `json:"pix_fmt"`       // e.g. "yuv420p"
	Width       int     `json:"width"`         // coded (stored) frame width
	Height      int     `json:"height"`        // coded (stored) frame height
	SAR         float64 `json:"sar"`           // sample aspect ratio; 1 for square pixels
	Rotation    int     `json:"rotation"`      // clockwise display rotation: 0, 90, 180 or 270
	DisplayW    int     `json:"display_width"` // width as shown: after SAR and rotation
	DisplayH    int     `json:"display_height"`
	FPS         float64 `json:"fps"`         // nominal frame rate (r_frame_rate)
	AvgFPS      float64 `json:"avg_fps"`     // average frame rate (frames / duration)
	VFR         bool    `json:"vfr"`         // the average rate differs from the nominal one
	FrameCount  int     `json:"frame_count"` // frames in the stream when the container says; else an estimate from duration*fps
	FrameExact  bool    `json:"frame_count_exact"`
	VideoStream int     `json:"video_stream"` // index of the chosen video stream
}

// Probe describes the file at path using the Default tool.
func Probe(ctx context.Context, path string) (Info, error) { return Default.Probe(ctx, path) }

type ffprobeOut struct {
	Streams []struct {
		Index        int               `json:"index"`
		CodecName    string            `json:"codec_name"`
		CodecType    string            `json:"codec_type"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		PixFmt       string            `json:"pix_fmt"`
		SAR          string            `json:"sample_aspect_ratio"`
		RFrameRate   string            `json:"r_frame_rate"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		Duration     string            `json:"duration"`
		NbFrames     string            `json:"nb_frames"`
		Tags         map[string]string `json:"tags"`
		Disposition  map[string]int    `json:"disposition"`
		SideDataList []struct {
			SideDataType string  `json:"side_data_type"`
			Rotation     float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
}

// Probe runs ffprobe on path and checks the result against the tool's limits.
// A file without a video stream gives ErrNoVideoStream; an unreadable one
// ErrInvalidMedia; one whose frame size or duration exceeds the limits
// ErrTooLarge (Info is still filled in for the message).
func (t *Tool) Probe(ctx context.Context, path string) (Info, error) {
	op := "probe " + path
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, fmt.Errorf("media: %s: %w", op, err)
	}
	if st.IsDir() {
		return Info{}, fmt.Errorf("media: %s: %w: is a directory", op, ErrInvalidMedia)
	}
	if st.Size() == 0 {
		return Info{}, fmt.Errorf("media: %s: %w: empty file", op, ErrInvalidMedia)
	}
	if err := t.lookPath(t.ffprobe()); err != nil {
		return Info{}, fmt.Errorf("media: %s: %w", op, err)
	}
	timeout := t.ProbeTimeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in, err := inputArgs(path)
	if err != nil {
		return Info{}, fmt.Errorf("media: %s: %w", op, err)
	}
	args := append([]string{"-v", "error", "-hide_banner", "-print_format", "json", "-show_format", "-show_streams"}, in...)
	cmd := t.command(ctx, timeout, t.ffprobe(), args...)
	stderr := &tailBuffer{n: 4096}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return Info{}, runError(ctx, op, err, stderr.String())
	}
	info, err := parseProbe(out)
	if err != nil {
		return info, fmt.Errorf("media: %s: %w", op, err)
	}
	if info.Size == 0 {
		info.Size = st.Size()
	}
	t.logger().DebugContext(ctx, "media: probed", "path", path, "width", info.Width, "height", info.Height,
		"fps", info.FPS, "duration_s", info.Duration, "codec", info.VideoCodec)
	if err := t.checkLimits(info); err != nil {
		return info, fmt.Errorf("media: %s: %w", op, err)
	}
	return info, nil
}

func (t *Tool) checkLimits(info Info) error {
	if px := int64(info.Width) * int64(info.Height); px > t.maxPixels() {
		return fmt.Errorf("%w: frame size %dx%d is above the limit of %d pixels", ErrTooLarge, info.Width, info.Height, t.maxPixels())
	}
	if d := time.Duration(info.Duration * float64(time.Second)); d > t.maxDuration() {
		return fmt.Errorf("%w: duration %s is above the limit of %s", ErrTooLarge, d.Round(time.Second), t.maxDuration())
	}
	return nil
}

// parseProbe turns ffprobe's JSON (-show_format -show_streams) into Info.
func parseProbe(data []byte) (Info, error) {
	var p ffprobeOut
	if err := json.Unmarshal(data, &p); err != nil {
		return Info{}, fmt.Errorf("%w: parse ffprobe output: %v", ErrInvalidMedia, err)
	}
	if p.Format.FormatName == "" && len(p.Streams) == 0 {
		return Info{}, fmt.Errorf("%w: ffprobe found no streams", ErrInvalidMedia)
	}
	info := Info{
		Format:      p.Format.FormatName,
		Duration:    parseFloat(p.Format.Duration),
		Size:        int64(parseFloat(p.Format.Size)),
		BitRate:     int64(parseFloat(p.Format.BitRate)),
		VideoStream: -1,
	}
	for _, s := range p.Streams {
		switch s.CodecType {
		case "audio":
			if !info.HasAudio {
				info.HasAudio = true
				info.AudioCodec = s.CodecName
			}
		case "video":
			// Cover art in audio files is a one-frame "video" stream.
			if info.HasVideo || s.Disposition["attached_pic"] == 1 || s.Width <= 0 || s.Height <= 0 {
				continue
			}
			info.HasVideo = true
			info.VideoStream = s.Index
			info.VideoCodec = s.CodecName
			info.PixFmt = s.PixFmt
			info.Width, info.Height = s.Width, s.Height
			info.SAR = parseRatio(s.SAR)
			if info.SAR <= 0 || math.IsNaN(info.SAR) {
				info.SAR = 1
			}
			info.FPS = parseRatio(s.RFrameRate)
			info.AvgFPS = parseRatio(s.AvgFrameRate)
			if info.FPS <= 0 || info.FPS > 1000 {
				info.FPS = info.AvgFPS
			}
			if info.AvgFPS <= 0 {
				info.AvgFPS = info.FPS
			}
			info.VFR = info.FPS > 0 && math.Abs(info.AvgFPS-info.FPS)/info.FPS > 0.01
			if d := parseFloat(s.Duration); d > 0 && info.Duration == 0 {
				info.Duration = d
			}
			if n, err := strconv.Atoi(s.NbFrames); err == nil && n > 0 {
				info.FrameCount, info.FrameExact = n, true
			}
			info.Rotation = rotation(s.Tags["rotate"], s.SideDataList)
		}
	}
	if !info.HasVideo {
		what := "no streams"
		if info.HasAudio {
			what = "audio only (" + info.AudioCodec + ")"
		}
		return info, fmt.Errorf("%w: %s", ErrNoVideoStream, what)
	}
	if info.FrameCount == 0 && info.Duration > 0 && info.AvgFPS > 0 {
		info.FrameCount = int(math.Round(info.Duration * info.AvgFPS))
	}
	w := int(math.Round(float64(info.Width) * info.SAR))
	h := info.Height
	if info.Rotation == 90 || info.Rotation == 270 {
		w, h = h, w
	}
	info.DisplayW, info.DisplayH = w, h
	return info, nil
}

// rotation returns the clockwise display rotation in degrees from the
// display-matrix side data (counter-clockwise there) or the legacy tag.
func rotation(tag string, side []struct {
	SideDataType string  `json:"side_data_type"`
	Rotation     float64 `json:"rotation"`
}) int {
	deg := 0.0
	found := false
	for _, sd := range side {
		if sd.SideDataType == "Display Matrix" {
			deg, found = -sd.Rotation, true
			break
		}
	}
	if !found && tag != "" {
		deg = parseFloat(tag)
	}
	r := int(math.Round(deg/90)) * 90 % 360
	if r < 0 {
		r += 360
	}
	return r
}

func parseFloat(s string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// parseRatio parses "30000/1001" (or "16:11", or a plain number).
func parseRatio(s string) float64 {
	s = strings.TrimSpace(s)
	sep := strings.IndexAny(s, "/:")
	if sep < 0 {
		return parseFloat(s)
	}
	num, den := parseFloat(s[:sep]), parseFloat(s[sep+1:])
	if den == 0 {
		return 0
	}
	return num / den
}

// IsBadInput reports whether err means the input file itself is unusable
// (as opposed to a timeout or a missing tool), so a workflow can fail the
// step without retrying.
func IsBadInput(err error) bool {
	return errors.Is(err, ErrInvalidMedia) || errors.Is(err, ErrNoVideoStream) ||
		errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTruncated)
}
