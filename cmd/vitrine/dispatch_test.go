package main

import (
	"strings"
	"testing"
)

// TestSubcommandDispatch checks the command groups' shared dispatch (help
// on stdout, a missing or unknown subcommand as an error with the usage)
// and the shared action-word parsing (usage on stderr, exit 0 for help).
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
		// Commands led by an action word.
		{[]string{"keys"}, 1, "", []string{"keys: missing action (create, list or revoke)", "Usage: vitrine keys"}},
		{[]string{"keys", "--help"}, 0, "", []string{"Usage: vitrine keys", "Flags:"}},
		{[]string{"models"}, 1, "", []string{"models: missing action (install or list)", "Usage: vitrine models"}},
		{[]string{"workflows", "-h"}, 0, "", []string{"Usage: vitrine workflows"}},
		{[]string{"pubkeys"}, 1, "", []string{"pubkeys: missing action (create, list or revoke)", "Usage: vitrine pubkeys"}},
		{[]string{"analytics"}, 1, "", []string{"analytics: missing report (videos, video, product or recent)", "Usage: vitrine analytics"}},
		{[]string{"analytics", "-help"}, 0, "", []string{"Usage: vitrine analytics"}},
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
