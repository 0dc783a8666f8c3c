// Command vitrine is the self-hosted shoppable-video engine: one binary with
// subcommands (serve, worker, selftest, keys, models, version, …).
//
// Each subcommand lives in its own file as a small type with a Run method
// and registers itself with one line:
//
//	func init() { register("catalog", "import and search the product catalog", func() command { return &catalogCmd{} }) }
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. Run parses args (without the subcommand name)
// with its own flag.FlagSet; returning flag.ErrHelp exits 0.
type command interface {
	Run(ctx context.Context, args []string) error
}

type entry struct {
	name, summary string
	new           func() command
}

var commands = map[string]entry{}

// register adds a subcommand; call it from an init func.
func register(name, summary string, new func() command) {
	commands[name] = entry{name: name, summary: summary, new: new}
}

// stdout and stderr are the command's output streams.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts a graceful stop, a second one kills.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		// One line on stderr, as scripts expect.
		fmt.Fprintln(stderr, "vitrine: "+strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		usage(stderr)
		return errors.New("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if e, ok := commands[args[1]]; ok {
				return e.new().Run(ctx, []string{"--help"})
			}
		}
		usage(stdout)
		return nil
	}
	e, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return e.new().Run(ctx, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "vitrine: self-hosted shoppable video.\n\nUsage: vitrine <command> [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'vitrine <command> --help' for the flags of a command.")
}
