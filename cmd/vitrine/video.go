package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/video"
)

func init() {
	register("video", "add videos, follow their analysis, print shoppable metadata", func() command { return &videoCmd{} })
}

type videoCmd struct{}

const videoUsage = `Usage: vitrine video <subcommand> [flags] [args]

Subcommands:
  add FILE|URL      upload a video and follow its analysis workflow (prints the video id)
  status ID         the video and every step of its latest workflow
  shoppable ID      the published vitrine.shoppable/v1 document
  vtt ID            the WebVTT metadata track
  shots ID          the shots (--edl: as a CMX 3600 edit decision list)
  rematch ID        re-match the stored tracks against the current catalog
  list              the most recent videos

Run 'vitrine video <subcommand> --help' for its flags.`

func (c *videoCmd) Run(ctx context.Context, args []string) error {
	document := func(kind string) subcommand {
		return func(ctx context.Context, args []string) error { return c.document(ctx, kind, args) }
	}
	return dispatch(ctx, "video", videoUsage, map[string]subcommand{
		"add": c.add, "status": c.status, "shoppable": document("shoppable"), "vtt": document("vtt"),
		"shots": c.shots, "rematch": c.rematch, "list": c.list,
	}, args)
}

// openVideoApp opens the installation; runSteps makes this process run the
// workflow when no server owns the data directory.
func openVideoApp(ctx context.Context, load func() (*config.Config, error), runSteps bool) (*app.App, error) {
	a, err := openApp(ctx, load, app.Options{RunSteps: runSteps})
	if err != nil {
		return nil, err
	}
	if runSteps {
		if err := a.Start(ctx); err != nil {
			a.Close(ctx)
			return nil, err
		}
		// The models load while the first steps decode the video.
		a.PrewarmVideo()
	}
	return a, nil
}

func (c *videoCmd) add(ctx context.Context, args []string) error {
	fs := newFlagSet("video add", "video add [flags] FILE|URL",
		"Uploads a video (a local file, or an http(s) URL that is downloaded\n"+
			"first), starts its analysis workflow (probe, decode, shots, sample,\n"+
			"detect, track, embed, match, assemble, publish) and follows it with a\n"+
			"progress bar until it ends, then prints the video id. With --detach it\n"+
			"prints the id at once. Exits non-zero when the workflow fails.")
	load := withConfig(fs)
	detach := fs.Bool("detach", false, "print the video id and return without waiting")
	asJSON := fs.Bool("json", false, "print the video as JSON")
	quiet := fs.Bool("quiet", false, "no progress bar")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("video add: want exactly one FILE or URL")
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return fmt.Errorf("video add: %w", err)
	}
	defer stopProfile()
	a, err := openVideoApp(ctx, quietForBar(load, *quiet || *detach), !*detach)
	if err != nil {
		return fmt.Errorf("video add: %w", err)
	}
	defer a.Close(ctx)
	src := pos[0]
	var r io.Reader
	name := src
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		f := fetch.New(fetch.Config{MaxBytes: a.Config.MaxUploadBytes, Timeout: 30 * time.Minute, AllowPrivate: a.Config.FetchAllowPrivate,
			AllowedTypes: []string{"video/", "application/octet-stream"}, UserAgent: "vitrine-video"})
		b, _, err := f.Get(ctx, src)
		if err != nil {
			return fmt.Errorf("video add: %w", err)
		}
		r, name = bytes.NewReader(b), path.Base(src)
	} else {
		f, err := os.Open(src)
		if err != nil {
			return fmt.Errorf("video add: %w", err)
		}
		defer f.Close()
		r = f
	}
	v, err := a.Video.Add(ctx, r, name, a.Config.MaxUploadBytes)
	if err != nil {
		return err
	}
	if !*detach {
		wf, err := follow(ctx, a.Runner, v.WorkflowID, *quiet)
		if err != nil {
			return fmt.Errorf("video add: %w", err)
		}
		if wf.State != jobs.StateSucceeded {
			return fmt.Errorf("video add: video %s: workflow %d %s: %s", v.ID, wf.ID, wf.State, workflowError(wf))
		}
		if v, err = a.Video.Get(ctx, v.ID); err != nil {
			return err
		}
	}
	if *asJSON {
		return printJSON(v)
	}
	fmt.Fprintln(stdout, v.ID)
	return nil
}

// follow waits for a workflow, drawing a progress bar of its steps: the
// bar moves with the running step's own progress (frames decoded, tracks
// matched), which the description counts, so a long step does not sit
// still. No time left is predicted: the steps' costs differ too much.
func follow(ctx context.Context, r *jobs.Runner, id int64, quiet bool) (*jobs.Workflow, error) {
	var bar *progressbar.ProgressBar
	w, err := r.Wait(ctx, id, func(w *jobs.Workflow) {
		if quiet {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions(progressUnits, progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetPredictTime(false), progressbar.OptionSetElapsedTime(true), progressbar.OptionShowElapsedTimeOnFinish())
		}
		desc, units := stepProgress(w)
		bar.Describe(desc)
		bar.Set(units)
	})
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	return w, err
}

// progressUnits is the progress bar's full scale.
const progressUnits = 1000

// stepProgress describes a workflow's running step ("detect 120/750") and
// says how far the whole workflow is, in progressUnits: the steps done
// and the running step's share of its own work.
func stepProgress(w *jobs.Workflow) (string, int) {
	if len(w.Steps) == 0 {
		return "", 0
	}
	done := 0.0
	desc := ""
	for _, s := range w.Steps {
		if s.State == jobs.StateSucceeded {
			done++
			continue
		}
		if desc == "" {
			desc = fmt.Sprintf("%-9s", s.Name)
			if s.Total > 0 {
				desc += fmt.Sprintf(" %d/%d", s.Done, s.Total)
				done += float64(min(s.Done, s.Total)) / float64(s.Total)
			}
		}
	}
	return desc, int(done / float64(len(w.Steps)) * progressUnits)
}

func workflowError(w *jobs.Workflow) string {
	for _, s := range w.Steps {
		if s.Error != "" && (s.State == jobs.StateFailed || s.State == jobs.StateCancelled) {
			return s.Name + ": " + s.Error
		}
	}
	return w.Error
}

func (c *videoCmd) idArg(name, synopsis, description string, args []string, extra func(*flag.FlagSet)) (string, func() (*config.Config, error), error) {
	fs := newFlagSet("video "+name, synopsis, description)
	load := withConfig(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", nil, err
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", nil, fmt.Errorf("video %s: want exactly one video ID", name)
	}
	return pos[0], load, nil
}

func (c *videoCmd) status(ctx context.Context, args []string) error {
	var asJSON *bool
	id, load, err := c.idArg("status", "video status [flags] ID", "Prints the video and every step of its latest workflow (state, attempts, time, error).", args,
		func(fs *flag.FlagSet) { asJSON = fs.Bool("json", false, "print as JSON") })
	if err != nil {
		return err
	}
	a, err := openVideoApp(ctx, load, false)
	if err != nil {
		return fmt.Errorf("video status: %w", err)
	}
	defer a.Close(ctx)
	v, err := a.Video.Get(ctx, id)
	if err != nil {
		return err
	}
	wf, err := a.Video.Workflow(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(map[string]any{"video": v, "workflow": wf})
	}
	fmt.Fprintf(stdout, "%s  %s  %.1fs %dx%d %.2f fps  document v%d", v.ID, v.State, v.DurationS, v.Width, v.Height, v.FPS, v.DocVersion)
	if v.Error != "" {
		fmt.Fprintf(stdout, "  error: %s", v.Error)
	}
	fmt.Fprintf(stdout, "\nworkflow %d (%s): %s\n", wf.ID, wf.Kind, wf.State)
	for _, s := range wf.Steps {
		took := ""
		if s.StartedAt != nil && s.FinishedAt != nil {
			took = s.FinishedAt.Sub(*s.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(stdout, "  %-9s %-9s attempts %d  %8s", s.Name, s.State, s.Attempts, took)
		if s.Error != "" {
			fmt.Fprintf(stdout, "  %s", s.Error)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

func (c *videoCmd) document(ctx context.Context, which string, args []string) error {
	id, load, err := c.idArg(which, "video "+which+" [flags] ID", "Prints the video's published "+map[string]string{"shoppable": "vitrine.shoppable/v1 JSON document", "vtt": "WebVTT metadata track"}[which]+".", args, nil)
	if err != nil {
		return err
	}
	a, err := openVideoApp(ctx, load, false)
	if err != nil {
		return fmt.Errorf("video %s: %w", which, err)
	}
	defer a.Close(ctx)
	doc, vtt, err := a.Video.Shoppable(ctx, id)
	if err != nil {
		return err
	}
	out := doc
	if which == "vtt" {
		out = vtt
	}
	_, err = stdout.Write(append(bytes.TrimRight(out, "\n"), '\n'))
	return err
}

func (c *videoCmd) shots(ctx context.Context, args []string) error {
	var edl *bool
	id, load, err := c.idArg("shots", "video shots [flags] ID", "Prints the video's shots as JSON, or with --edl as a CMX 3600 edit decision list.", args,
		func(fs *flag.FlagSet) { edl = fs.Bool("edl", false, "print an edit decision list") })
	if err != nil {
		return err
	}
	a, err := openVideoApp(ctx, load, false)
	if err != nil {
		return fmt.Errorf("video shots: %w", err)
	}
	defer a.Close(ctx)
	v, err := a.Video.Get(ctx, id)
	if err != nil {
		return err
	}
	shots, err := a.Video.Shots(ctx, id)
	if err != nil {
		return err
	}
	if *edl {
		fmt.Fprint(stdout, video.EDL(v.ID, v.FPS, shots))
		return nil
	}
	return printJSON(shots)
}

func (c *videoCmd) rematch(ctx context.Context, args []string) error {
	var detach, quiet *bool
	var cpuProfile *string
	id, load, err := c.idArg("rematch", "video rematch [flags] ID",
		"Re-matches the video's stored tracks against the current catalog (match,\n"+
			"assemble, publish) without decoding it again, and follows the workflow.", args,
		func(fs *flag.FlagSet) {
			detach = fs.Bool("detach", false, "print the workflow id and return without waiting")
			quiet = fs.Bool("quiet", false, "no progress bar")
			cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
		})
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return fmt.Errorf("video rematch: %w", err)
	}
	defer stopProfile()
	a, err := openVideoApp(ctx, load, !*detach)
	if err != nil {
		return fmt.Errorf("video rematch: %w", err)
	}
	defer a.Close(ctx)
	wfID, err := a.Video.Rematch(ctx, id)
	if err != nil {
		return err
	}
	if *detach {
		fmt.Fprintln(stdout, wfID)
		return nil
	}
	wf, err := follow(ctx, a.Runner, wfID, *quiet)
	if err != nil {
		return fmt.Errorf("video rematch: %w", err)
	}
	if wf.State != jobs.StateSucceeded {
		return fmt.Errorf("video rematch: workflow %d %s: %s", wf.ID, wf.State, workflowError(wf))
	}
	v, err := a.Video.Get(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s document v%d\n", v.ID, v.DocVersion)
	return nil
}

func (c *videoCmd) list(ctx context.Context, args []string) error {
	fs := newFlagSet("video list", "video list [flags]", "Lists the most recent videos, newest first.")
	load := withConfig(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	n := fs.Int("n", 50, "how many videos")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := openVideoApp(ctx, load, false)
	if err != nil {
		return fmt.Errorf("video list: %w", err)
	}
	defer a.Close(ctx)
	vs, err := a.Video.List(ctx, *n)
	if err != nil {
		return err
	}
	if *asJSON {
		if vs == nil {
			vs = []video.Video{} // an empty list is [], not null
		}
		return printJSON(vs)
	}
	for _, v := range vs {
		fmt.Fprintf(stdout, "%s  %-10s %6.1fs  v%d  %s\n", v.ID, v.State, v.DurationS, v.DocVersion, v.Source)
	}
	return nil
}
