package api

import (
	"path"
	"regexp"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/media"
)

// Problem is a stored failure message told in words for the console: what
// went wrong, what to do, the original detail (with no server path in it)
// folded below, and whether running the step again can help.
type Problem struct {
	// Summary says what went wrong in a merchant's words.
	Summary string `json:"summary"`
	// Action says what to do about it.
	Action string `json:"action,omitempty"`
	// Detail is the original message, scrubbed of server paths.
	Detail string `json:"detail"`
	// Retryable is false for a permanent input error: running the step
	// again fails the same way until the input changes.
	Retryable bool `json:"retryable"`
}

// problemKinds maps the media errors a bad upload causes to words. They are
// matched by their text because a stored step error is text.
var problemKinds = []struct {
	err          error
	summary, act string
	retryable    bool
}{
	{media.ErrTruncated, "The file is truncated or not a video.", "Upload the complete file again, or another file.", false},
	{media.ErrInvalidMedia, "The file is truncated or not a video.", "Upload the complete file again, or another file.", false},
	{media.ErrNoVideoStream, "The file has no video in it (sound or pictures only).", "Upload a video file.", false},
	{media.ErrTooLarge, "The video is larger or longer than this server accepts.", "Upload a smaller or shorter video, or raise the limits in the server's configuration.", false},
	{media.ErrToolMissing, "ffmpeg is not installed on the server.", "Install ffmpeg on the server, then retry.", true},
}

// serverPath matches absolute paths of two or more segments, a file: URL
// prefix included: they name this machine's directories, which messages
// for users must not show.
var serverPath = regexp.MustCompile(`(?:file:)?(?:/[A-Za-z0-9._@+-]+){2,}/?`)

// scrubPaths replaces every server path in msg by its last element (a file
// name says which file without saying where it lives) and drops the file:
// prefix ffmpeg is given.
func scrubPaths(msg string) string {
	msg = strings.ReplaceAll(msg, "file:uploaded video", "the uploaded video")
	var b strings.Builder
	last := 0
	for _, m := range serverPath.FindAllStringIndex(msg, -1) {
		// Only a path that starts a word: not the path part of a URL
		// ("http://host/a/b") or of a relative path ("images/a/b.jpg").
		if m[0] > 0 && !strings.ContainsRune(" \t\n\"'(=[,:", rune(msg[m[0]-1])) {
			continue
		}
		p := strings.TrimSuffix(strings.TrimPrefix(msg[m[0]:m[1]], "file:"), "/")
		b.WriteString(msg[last:m[0]])
		b.WriteString(path.Base(p))
		last = m[1]
	}
	b.WriteString(msg[last:])
	return b.String()
}

// explain tells a stored error message in words ("" gives nil).
func explain(msg string) *Problem {
	if msg == "" {
		return nil
	}
	p := &Problem{Detail: scrubPaths(msg), Retryable: true}
	for _, k := range problemKinds {
		if strings.Contains(msg, k.err.Error()) {
			p.Summary, p.Action, p.Retryable = k.summary, k.act, k.retryable
			return p
		}
	}
	p.Summary = firstLine(p.Detail)
	return p
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	const max = 240
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// scrubWorkflow removes server paths from a workflow's error messages
// before it leaves the server.
func scrubWorkflow(wf *jobs.Workflow) {
	if wf == nil {
		return
	}
	wf.Error = scrubPaths(wf.Error)
	for i := range wf.Steps {
		wf.Steps[i].Error = scrubPaths(wf.Steps[i].Error)
	}
}

// scrubLogs removes server paths from log lines and their text attributes.
func scrubLogs(logs []jobs.LogLine) {
	for i := range logs {
		logs[i].Msg = scrubPaths(logs[i].Msg)
		for k, v := range logs[i].Attrs {
			if s, ok := v.(string); ok {
				logs[i].Attrs[k] = scrubPaths(s)
			}
		}
	}
}
