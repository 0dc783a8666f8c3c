package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/config"
)

// newFlagSet returns a flag set whose --help prints usage (a synopsis and
// description) followed by the flags.
func newFlagSet(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vitrine %s\n\n%s\n\nFlags:\n", synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// withConfig registers the configuration flags on fs; call the returned
// func after fs.Parse to load flags > env > file > defaults.
func withConfig(fs *flag.FlagSet) func() (*config.Config, error) {
	l := config.Register(fs)
	return func() (*config.Config, error) { return l.Load(nil) }
}

// openApp loads the configuration and opens the installation.
func openApp(ctx context.Context, load func() (*config.Config, error), opts app.Options) (*app.App, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg, app.NewLogger(cfg, stderr), opts)
}

// quietForBar wraps a config loader so that, while a progress bar is drawn
// (quiet is false), info-level step logs are lowered to warn: they would tear
// the bar apart.
func quietForBar(load func() (*config.Config, error), quiet bool) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		cfg, err := load()
		if err == nil && !quiet && cfg.LogLevel == "info" {
			cfg.LogLevel = "warn"
		}
		return cfg, err
	}
}

// subcommand runs one subcommand of a command group with the arguments
// after its name.
type subcommand func(ctx context.Context, args []string) error

// dispatch runs the subcommand named by args[0] of group, printing usage
// for help, and usage on stderr with an error when the name is missing or
// unknown.
func dispatch(ctx context.Context, group, usage string, subs map[string]subcommand, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%s: no subcommand given", group)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	run, ok := subs[args[0]]
	if !ok {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("%s: unknown subcommand %q", group, args[0])
	}
	return run(ctx, args[1:])
}

// actionWord splits off the action word that leads args (flags may follow
// it: keys create --scope read), printing usage when it is missing or asks
// for help. what names the word in the error: "action (list or show)".
func actionWord(fs *flag.FlagSet, cmd, what string, args []string) (string, []string, error) {
	if len(args) == 0 {
		fs.Usage()
		return "", nil, fmt.Errorf("%s: missing %s", cmd, what)
	}
	if a := args[0]; a == "-h" || a == "--help" || a == "-help" {
		fs.Usage()
		return "", nil, fmt.Errorf("%s: %w", cmd, errHelp)
	}
	return args[0], args[1:], nil
}

// printJSON prints v as indented JSON on stdout.
func printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}
