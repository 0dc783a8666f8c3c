package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/vitrine-dev/vitrine/internal/modelfiles"
)

func init() {
	register("models", "install and list ONNX model files", func() command { return &modelsCmd{} })
}

type modelsCmd struct{}

func (c *modelsCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("models", "models install --from DIR|FILE|URL [--sha256 HEX] | models list",
		"install copies (from a directory: every known model file) or downloads a\n"+
			"model file into the models directory, verifying its sha256 first.\n"+
			"list shows the known model files and whether they are installed and intact.")
	load := withConfig(fs)
	from := fs.String("from", "", "directory, file or http(s) URL to install from")
	sha := fs.String("sha256", "", "expected sha256 of a single file (required for files not in the manifest)")
	maxBytes := fs.Int64("max-bytes", 4<<30, "largest accepted download")
	action, rest, err := actionWord(fs, "models", "action (install or list)", args)
	if err != nil {
		return err
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	dir := cfg.ModelsDir
	switch action {
	case "install":
		if *from == "" {
			return fmt.Errorf("models install: --from is required")
		}
		in := &modelfiles.Installer{Dir: dir, MaxBytes: *maxBytes}
		st, err := os.Stat(*from)
		if err == nil && st.IsDir() {
			if *sha != "" {
				return fmt.Errorf("models install: --sha256 applies to a single file, not a directory")
			}
			if same(*from, dir) {
				fmt.Fprintf(stderr, "models directory is already %s; verifying only\n", dir)
			}
			files, err := in.InstallDir(ctx, *from)
			if err != nil {
				return fmt.Errorf("models install: %w", err)
			}
			for _, f := range files {
				fmt.Fprintf(stdout, "installed %s (%s) sha256 ok\n", filepath.Join(dir, f.Name), f.Model)
			}
			return nil
		}
		if !modelfiles.IsURL(*from) && err != nil {
			return fmt.Errorf("models install: %w", err)
		}
		f, err := in.InstallOne(ctx, *from, *sha)
		if err != nil {
			return fmt.Errorf("models install: %w", err)
		}
		fmt.Fprintf(stdout, "installed %s sha256 ok\n", filepath.Join(dir, f.Name))
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "MODEL\tFILE\tSTATUS\t(dir %s)\n", dir)
		for _, f := range modelfiles.Known() {
			status := "ok"
			if err := modelfiles.VerifyFile(filepath.Join(dir, f.Name), f.SHA256); os.IsNotExist(unwrapAll(err)) {
				status = "missing"
			} else if err != nil {
				status = "BAD CHECKSUM"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", f.Model, f.Name, status)
		}
		tw.Flush()
	default:
		return fmt.Errorf("models: unknown action %q (want install or list)", action)
	}
	return nil
}

func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
