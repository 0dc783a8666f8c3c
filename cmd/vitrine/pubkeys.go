package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/commerce"
)

func init() {
	register("pubkeys", "create, list and revoke publishable keys for web pages", func() command { return &pubkeysCmd{} })
}

type pubkeysCmd struct{}

// origins collects repeated --origin flags.
type origins []string

func (o *origins) String() string     { return strings.Join(*o, ",") }
func (o *origins) Set(v string) error { *o = append(*o, v); return nil }

var _ flag.Value = (*origins)(nil)

func (c *pubkeysCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("pubkeys", "pubkeys create --origin https://shop.example [--origin …] [--name N] | pubkeys list | pubkeys revoke KEY",
		"Manages publishable keys: read-only keys for the player that are meant\n"+
			"to appear in web pages. Each works only from pages on its origins\n"+
			"(scheme://host[:port], https://*.example.com, or * for any) and only\n"+
			"for the public read path: shoppable documents, product details, events.")
	load := withConfig(fs)
	var os origins
	fs.Var(&os, "origin", "page origin allowed to use the key (repeatable)")
	name := fs.String("name", "", "label of a new key")
	action, rest, err := actionWord(fs, "pubkeys", "action (create, list or revoke)", args)
	if err != nil {
		return err
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if action != "create" && action != "list" && action != "revoke" {
		return fmt.Errorf("pubkeys: unknown action %q (want create, list or revoke)", action)
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("pubkeys: %w", err)
	}
	defer a.Close(ctx)
	keys := commerce.NewKeys(a.DB, 0)
	switch action {
	case "create":
		pk, err := keys.Create(ctx, *name, os)
		if err != nil {
			return fmt.Errorf("pubkeys create: %w", err)
		}
		fmt.Fprintln(stdout, pk.Key)
	case "list":
		ks, err := keys.List(ctx)
		if err != nil {
			return fmt.Errorf("pubkeys list: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tNAME\tORIGINS\tCREATED\tREVOKED")
		for _, k := range ks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Key, k.Name, strings.Join(k.Origins, " "), k.CreatedAt.Format(time.RFC3339), ts(k.RevokedAt))
		}
		tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("pubkeys revoke: want one key")
		}
		if err := keys.Revoke(ctx, fs.Arg(0)); err != nil {
			return fmt.Errorf("pubkeys revoke: %w", err)
		}
		fmt.Fprintf(stderr, "revoked %s\n", fs.Arg(0))
	}
	return nil
}
