package main

import (
	"strings"
	"testing"
)

// TestSubcommandDispatch checks the command groups' shared dispatch: help
// on stdout, a missing or unknown subcommand as an error with the usage.
func TestSubcommandDispatch(t *testing.T) {
	env := cleanEnv()
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{[]string{"catalog"}, 1, "", []string{"catalog: no subcommand given", "Subcommands:"}},
		{[]string{"catalog", "help"}, 0, "import PATH", nil},
		{[]string{"catalog", "--help"}, 0, "similar ID", nil},
		{[]string{"catalog", "bogus"}, 1, "", []string{`catalog: unknown subcommand "bogus"`, "Subcommands:"}},
		{[]string{"video"}, 1, "", []string{"video: no subcommand given", "Subcommands:"}},
		{[]string{"video", "-h"}, 0, "rematch ID", nil},
		{[]string{"video", "bogus"}, 1, "", []string{`video: unknown subcommand "bogus"`, "Subcommands:"}},
		{[]string{"video", "vtt"}, 1, "", []string{"Usage: vitrine video vtt"}},
	} {
		out, errOut, code := vitrine(t, env, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errOut)
		}
		if tc.stdout != "" && !strings.Contains(out, tc.stdout) {
			t.Errorf("%v: stdout %q lacks %q", tc.args, out, tc.stdout)
		}
		if tc.stdout == "" && out != "" {
			t.Errorf("%v: unexpected stdout %q", tc.args, out)
		}
		for _, s := range tc.stderr {
			if !strings.Contains(errOut, s) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, s)
			}
		}
	}
}
