package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/live"
)

func init() {
	register("live", "start, list, follow and stop live shopping streams", func() command { return &liveCmd{} })
}

type liveCmd struct{}

const liveUsage = `Usage: vitrine live <subcommand> [flags] [args]

Subcommands:
  start URL|FILE    start a live stream from an HLS playlist, RTMP or SRT URL, or a local file read in real time (prints its id)
  list              the most recent streams
  status ID         a stream's state, lag, dropped frames, reconnects and items so far
  stop ID           stop a stream

Streams run in the 'vitrine serve' process of the data directory: start
and stop record the request, and the server acts on it within seconds.

Run 'vitrine live <subcommand> --help' for its flags.`

func (c *liveCmd) Run(ctx context.Context, args []string) error {
	return dispatch(ctx, "live", liveUsage, map[string]subcommand{
		"start": c.start, "list": c.list, "status": c.status, "stop": c.stop,
	}, args)
}

// oneArg parses a subcommand's flags and its one positional argument.
func (c *liveCmd) oneArg(name, synopsis, description, what string, args []string, extra func(*flag.FlagSet)) (string, func() (*config.Config, error), error) {
	fs := newFlagSet("live "+name, synopsis, description)
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
		return "", nil, fmt.Errorf("live %s: want exactly one %s", name, what)
	}
	return pos[0], load, nil
}

func (c *liveCmd) start(ctx context.Context, args []string) error {
	var name *string
	var asJSON *bool
	src, load, err := c.oneArg("start", "live start [flags] URL|FILE",
		"Starts a live stream: an http(s) URL of an HLS playlist (MPEG-TS segments),\n"+
			"an rtmp://, rtmps:// or srt:// URL (srt://host:port?streamid=S&passphrase=P;\n"+
			"vitrine calls the source), all connected to under the same address rules as\n"+
			"catalog images, or a local file read in real time. Its frames are analysed\n"+
			"at 2 per second and the items that pass the publish decision are pushed\n"+
			"to viewers on /public/v1/live/ID/events. Prints the stream id.", "URL or file", args,
		func(fs *flag.FlagSet) {
			name = fs.String("name", "", "a name for the stream")
			asJSON = fs.Bool("json", false, "print the stream as JSON")
		})
	if err != nil {
		return err
	}
	if !strings.Contains(src, "://") {
		if src, err = filepath.Abs(src); err != nil {
			return fmt.Errorf("live start: %w", err)
		}
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("live start: %w", err)
	}
	defer a.Close(ctx)
	s, err := live.Create(ctx, a.DB, src, *name)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(s)
	}
	fmt.Fprintln(stdout, s.ID)
	return nil
}

func (c *liveCmd) list(ctx context.Context, args []string) error {
	fs := newFlagSet("live list", "live list [flags]", "Prints the most recent live streams, newest first.")
	load := withConfig(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	limit := fs.Int("limit", 20, "how many streams")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("live list: unexpected argument %q", fs.Arg(0))
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("live list: %w", err)
	}
	defer a.Close(ctx)
	ls, err := live.List(ctx, a.DB, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(ls)
	}
	for _, s := range ls {
		printStream(s)
	}
	return nil
}

func printStream(s live.Stream) {
	fmt.Fprintf(stdout, "%s  %-8s  lag %.1fs  frames %d  dropped %d  reconnects %d  items %d  %s", s.ID, s.State, s.LagS, s.Frames, s.Dropped, s.Reconnects, s.Items, s.Source)
	if s.Name != "" {
		fmt.Fprintf(stdout, "  (%s)", s.Name)
	}
	if s.VideoID != "" {
		fmt.Fprintf(stdout, "  recording: video %s", s.VideoID)
	}
	if s.Error != "" {
		fmt.Fprintf(stdout, "  error: %s", s.Error)
	}
	fmt.Fprintln(stdout)
}

func (c *liveCmd) status(ctx context.Context, args []string) error {
	var asJSON *bool
	id, load, err := c.oneArg("status", "live status [flags] ID", "Prints a live stream and the items announced so far.", "stream ID", args,
		func(fs *flag.FlagSet) { asJSON = fs.Bool("json", false, "print as JSON") })
	if err != nil {
		return err
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("live status: %w", err)
	}
	defer a.Close(ctx)
	s, err := live.Get(ctx, a.DB, id)
	if err != nil {
		return err
	}
	items, err := live.Items(ctx, a.DB, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(map[string]any{"stream": s, "items": items})
	}
	printStream(s)
	for _, it := range items {
		end := "on screen"
		if it.EndS != nil {
			end = fmt.Sprintf("until %.1fs", *it.EndS)
		}
		fmt.Fprintf(stdout, "  %-5s %-12s %-10s confidence %.2f  first seen %.1fs, announced %.1fs, %s\n", it.ID, it.ProductID, it.Label, it.Confidence, it.FirstS, it.StartS, end)
	}
	return nil
}

func (c *liveCmd) stop(ctx context.Context, args []string) error {
	id, load, err := c.oneArg("stop", "live stop [flags] ID", "Asks the server running a live stream to stop it.", "stream ID", args, nil)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("live stop: %w", err)
	}
	defer a.Close(ctx)
	s, err := live.RequestStop(ctx, a.DB, id)
	if err != nil {
		return err
	}
	printStream(s)
	return nil
}
