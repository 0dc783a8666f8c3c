package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/app"
)

func init() {
	register("keys", "create, list and revoke API keys", func() command { return &keysCmd{} })
}

type keysCmd struct{}

func (c *keysCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("keys", "keys create --scope admin|ingest|read [--name N] [--expires 720h] | keys list | keys revoke ID",
		"Manages API keys. A key is printed once, at creation; only its SHA-256\n"+
			"hash is stored. Scopes are ordered admin > ingest > read.")
	load := withConfig(fs)
	scope := fs.String("scope", "", "scope of a new key: admin, ingest or read")
	name := fs.String("name", "", "label of a new key")
	expires := fs.Duration("expires", 0, "lifetime of a new key, e.g. 720h (default: no expiry)")
	// Flags may come after the action word: keys create --scope read.
	action, rest, err := actionWord(fs, "keys", "action (create, list or revoke)", args)
	if err != nil {
		return err
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer a.Close(ctx)
	switch action {
	case "create":
		sc, err := apikey.ParseScope(*scope)
		if err != nil {
			return fmt.Errorf("keys create: --scope: %w", err)
		}
		if *expires < 0 {
			return fmt.Errorf("keys create: --expires must be positive")
		}
		var until time.Time
		if *expires > 0 {
			until = time.Now().Add(*expires)
		}
		secret, k, err := a.Keys.CreateExpiring(ctx, sc, *name, until)
		if err != nil {
			return fmt.Errorf("keys create: %w", err)
		}
		fmt.Fprintln(stdout, secret)
		auditCLI(ctx, a, "keys create", fmt.Sprintf("keys create --scope %s (key %d)", k.Scope, k.ID))
		fmt.Fprintf(stderr, "created key %d (%s, scope %s); it is not shown again\n", k.ID, k.Prefix, k.Scope)
	case "list":
		keys, err := a.Keys.List(ctx)
		if err != nil {
			return fmt.Errorf("keys list: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tSCOPE\tNAME\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%d\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Scope, k.Name, k.CreatedAt.Format(time.RFC3339), ts(k.LastUsedAt), ts(k.ExpiresAt), ts(k.RevokedAt))
		}
		tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("keys revoke: want one key ID")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("keys revoke: %q is not a key ID", fs.Arg(0))
		}
		if err := a.Keys.Revoke(ctx, id); err != nil {
			return fmt.Errorf("keys revoke: %w", err)
		}
		fmt.Fprintf(stderr, "revoked key %d\n", id)
		auditCLI(ctx, a, "keys revoke", fmt.Sprintf("keys revoke %d", id))
	default:
		return fmt.Errorf("keys: unknown action %q (want create, list or revoke)", action)
	}
	return nil
}

func ts(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
