package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/vitrine-dev/vitrine/internal/api"
	"github.com/vitrine-dev/vitrine/internal/api/audit"
	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/crypt"
)

func init() {
	register("crypt", "encryption at rest: generate and rotate key-encryption keys", func() command { return &cryptCmd{} })
}

type cryptCmd struct{}

func (c *cryptCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("crypt", "crypt keygen | crypt seal [--context C] < secret | crypt status | crypt rotate",
		"Encryption at rest. Blobs (media, thumbnails, snapshots) are encrypted\n"+
			"with AES-256-GCM under a random data key per object; data keys are\n"+
			"wrapped by the key-encryption key (KEK) from VITRINE_KEK or\n"+
			"VITRINE_KEK_FILE (base64 keys, the active one first).\n\n"+
			"  keygen  print a new random KEK\n"+
			"  seal    encrypt a secret read from stdin for a config file, e.g.\n"+
			"          auth_value in commerce.toml (sealed values start vtrsec1:)\n"+
			"  status  show the active KEK id and count objects by KEK\n"+
			"  rotate  rewrap every object under the active KEK (only headers are\n"+
			"          rewritten) and encrypt objects stored in the clear\n\n"+
			"Rotation: put the new key first and keep the old one after it,\n"+
			"restart serve/worker, run 'vitrine crypt rotate', then remove the old key.")
	load := withConfig(fs)
	sealCtx := fs.String("context", api.UpstreamAuthContext, "what a sealed secret is for (seal)")
	if len(args) == 0 {
		fs.Usage()
		return errors.New("crypt: missing action (keygen, seal, status or rotate)")
	}
	action, rest := args[0], args[1:]
	if action == "-h" || action == "--help" || action == "-help" {
		fs.Usage()
		return fmt.Errorf("crypt: %w", errHelp)
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if action == "keygen" {
		k, err := crypt.GenerateKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k)
		return nil
	}
	if action == "seal" {
		cfg, err := load()
		if err != nil {
			return fmt.Errorf("crypt seal: %w", err)
		}
		kr, err := crypt.LoadKeyring(cfg.KEK, cfg.KEKFile)
		if err != nil {
			return fmt.Errorf("crypt seal: %w", err)
		}
		if kr == nil {
			return errors.New("crypt seal: no key-encryption key configured (set VITRINE_KEK or VITRINE_KEK_FILE)")
		}
		secret, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<16))
		if err != nil {
			return fmt.Errorf("crypt seal: read the secret from stdin: %w", err)
		}
		secret = bytes.TrimRight(secret, "\r\n")
		if len(secret) == 0 {
			return errors.New("crypt seal: empty secret on stdin")
		}
		sealed, err := kr.Seal(secret, *sealCtx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, sealed)
		return nil
	}
	if action != "status" && action != "rotate" {
		return fmt.Errorf("crypt: unknown action %q (want keygen, seal, status or rotate)", action)
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("crypt %s: %w", action, err)
	}
	defer a.Close(ctx)
	if !a.Blob.Encrypted() {
		return fmt.Errorf("crypt %s: no key-encryption key configured (set VITRINE_KEK or VITRINE_KEK_FILE; 'vitrine crypt keygen' makes one)", action)
	}
	keys, err := a.Blob.List(ctx, "")
	if err != nil {
		return fmt.Errorf("crypt %s: %w", action, err)
	}
	if action == "status" {
		byKEK, err := a.Blob.KeyIDs(ctx, keys)
		if err != nil {
			return fmt.Errorf("crypt status: %w", err)
		}
		fmt.Fprintf(stdout, "active key-encryption key: %s\n", a.Blob.ActiveKeyID())
		for id, n := range byKEK {
			if id == "" {
				id = "(not encrypted)"
			}
			fmt.Fprintf(stdout, "%-24s %d objects\n", id, n)
		}
		return nil
	}
	counts := map[blob.RewrapResult]int{}
	for _, k := range keys {
		res, err := a.Blob.Rewrap(ctx, k)
		if err != nil {
			return fmt.Errorf("crypt rotate: %w", err)
		}
		counts[res]++
	}
	auditCLI(ctx, a, "crypt rotate", fmt.Sprintf("crypt rotate: %d rewrapped, %d encrypted", counts[blob.Rewrapped], counts[blob.Encrypted]))
	fmt.Fprintf(stdout, "%d objects: %d rewrapped, %d encrypted, %d already current (key %s)\n",
		len(keys), counts[blob.Rewrapped], counts[blob.Encrypted], counts[blob.Unchanged], a.Blob.ActiveKeyID())
	return nil
}

// auditCLI records an admin action taken from the command line in the
// audit log (the API records its own); a failure is reported, not fatal.
func auditCLI(ctx context.Context, a *app.App, route, what string) {
	who := "cli"
	if u, err := user.Current(); err == nil {
		who = "cli:" + u.Username
	}
	if h, err := os.Hostname(); err == nil {
		who += "@" + h
	}
	if err := audit.New(a.DB).Record(ctx, audit.Entry{Method: "CLI", Route: route, Path: what, Status: 0, Remote: who}); err != nil {
		fmt.Fprintf(stderr, "warning: audit log: %v\n", err)
	}
}
