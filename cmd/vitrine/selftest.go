package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/selftest"
)

// errHelp is flag.ErrHelp, for commands that print their own usage.
var errHelp = flag.ErrHelp

func init() {
	register("selftest", "check the installation step by step (a stored workflow)", func() command { return &selftestCmd{} })
}

type selftestCmd struct{}

func (c *selftestCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("selftest", "selftest [flags]",
		"Runs the selftest workflow: database, blob store, ffmpeg, ONNX Runtime and\n"+
			"model checksums, each a stored step. When a server owns the data\n"+
			"directory the workflow runs there and this command follows it; otherwise it\n"+
			"runs in this process.")
	load := withConfig(fs)
	delay := fs.Duration("step-delay", 0, "pause before each step (to watch the graph)")
	detach := fs.Bool("detach", false, "print the workflow id and return without waiting")
	asJSON := fs.Bool("json", false, "print the final workflow as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *delay < 0 || *delay > time.Minute {
		return fmt.Errorf("selftest: --step-delay must be between 0s and 1m")
	}
	// With --detach nothing waits, so only a server may run the steps.
	a, err := openApp(ctx, load, app.Options{RunSteps: !*detach})
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	defer a.Close(ctx)
	if err := a.Start(ctx); err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	in := selftest.Input{}
	if *delay > 0 {
		in.StepDelay = delay.String()
	}
	id, err := a.Runner.Enqueue(ctx, selftest.Kind, "installation", in)
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	where := "in this process"
	if !a.Owner {
		where = "by the server that owns " + a.Config.DataDir
	}
	fmt.Fprintf(stderr, "selftest workflow %d started (run %s)\n", id, where)
	if *detach {
		fmt.Fprintln(stdout, id)
		return nil
	}
	printed := map[string]bool{}
	w, err := a.Runner.Wait(ctx, id, func(w *jobs.Workflow) {
		for _, s := range w.Steps {
			k := fmt.Sprintf("%d/%s/%d", s.Index, s.State, s.Attempts)
			if printed[k] || s.State == jobs.StatePending {
				continue
			}
			printed[k] = true
			line := fmt.Sprintf("  %-12s %s", s.Name, s.State)
			if s.Attempts > 1 {
				line += fmt.Sprintf(" (attempt %d)", s.Attempts)
			}
			if s.Error != "" {
				line += ": " + s.Error
			}
			fmt.Fprintln(stderr, line)
		}
	})
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	if *asJSON {
		printJSON(w)
	}
	if w.State != jobs.StateSucceeded {
		return errors.New("selftest: workflow " + fmt.Sprint(id) + " " + w.State + ": " + w.Error)
	}
	fmt.Fprintf(stdout, "selftest workflow %d succeeded\n", id)
	return nil
}
