package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/jobs"
)

func init() {
	register("workflows", "list, show, cancel and retry workflows", func() command { return &workflowsCmd{} })
}

type workflowsCmd struct{}

func (c *workflowsCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("workflows", "workflows list [--kind K] [--state S] [--limit N] | workflows show|cancel|retry ID [--json]",
		"Reads and steers stored workflows. cancel stops a workflow (a running step sees\n"+
			"its context cancelled); retry re-runs a failed or cancelled workflow from its\n"+
			"first unfinished step. A running server picks the change up.")
	load := withConfig(fs)
	kind := fs.String("kind", "", "list: only this workflow kind")
	state := fs.String("state", "", "list: only this state")
	limit := fs.Int("limit", 20, "list: at most this many")
	asJSON := fs.Bool("json", false, "print JSON")
	action, rest, err := actionWord(fs, "workflows", "action (list, show, cancel or retry)", args)
	if err != nil {
		return err
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("workflows: %w", err)
	}
	defer a.Close(ctx)
	if action == "list" {
		list, err := a.Runner.List(ctx, jobs.ListParams{Kind: *kind, State: *state, Limit: *limit})
		if err != nil {
			return fmt.Errorf("workflows list: %w", err)
		}
		if *asJSON {
			return printJSON(list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tSUBJECT\tSTATE\tSTEP\tUPDATED")
		for _, w := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", w.ID, w.Kind, w.Subject, w.State, currentStep(w), w.UpdatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("workflows %s: want one workflow ID", action)
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("workflows %s: %q is not a workflow ID", action, fs.Arg(0))
	}
	switch action {
	case "show":
	case "cancel":
		err = a.Runner.Cancel(ctx, id)
	case "retry":
		err = a.Runner.Retry(ctx, id)
	default:
		return fmt.Errorf("workflows: unknown action %q (want list, show, cancel or retry)", action)
	}
	if err != nil {
		return fmt.Errorf("workflows %s: %w", action, err)
	}
	w, err := a.Runner.Workflow(ctx, id)
	if err != nil {
		return fmt.Errorf("workflows %s: %w", action, err)
	}
	if *asJSON {
		return printJSON(w)
	}
	fmt.Fprintf(stdout, "workflow %d  %s  %s  %s\n", w.ID, w.Kind, w.Subject, w.State)
	if w.Error != "" {
		fmt.Fprintf(stdout, "error: %s\n", w.Error)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTEP\tSTATE\tATTEMPTS\tPROGRESS\tTOOK\tERROR")
	for _, s := range w.Steps {
		progress := ""
		if s.Total > 0 {
			progress = fmt.Sprintf("%d/%d", s.Done, s.Total)
		}
		took := ""
		if s.StartedAt != nil && s.FinishedAt != nil {
			took = s.FinishedAt.Sub(*s.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Index, s.Name, s.State, s.Attempts, progress, took, s.Error)
	}
	return tw.Flush()
}

func currentStep(w *jobs.Workflow) string {
	for _, s := range w.Steps {
		if s.State != jobs.StateSucceeded {
			return s.Name
		}
	}
	return "-"
}
