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
	fs := newFlagSet("models", "models install [NAME...] [--from DIR|FILE|URL] [--base-url URL] [--sha256 HEX] | models list",
		"install with no name downloads the default model set of the manifest built\n"+
			"into vitrine into the models directory (resuming an interrupted download,\n"+
			"verifying each sha256 before the file is put in place); NAME installs\n"+
			"named models instead. --from installs from a local copy: a directory\n"+
			"(the default set, or the named models: the only way to install an\n"+
			"opt-in model), a file or a URL. list shows every model of the manifest,\n"+
			"its licence and whether it is installed and intact.")
	load := withConfig(fs)
	from := fs.String("from", "", "directory, file or http(s) URL to install from instead of the manifest's download location")
	base := fs.String("base-url", os.Getenv("VITRINE_MODELS_URL"), "download the manifest's files from this URL prefix (a mirror) instead of its base_url (env VITRINE_MODELS_URL)")
	sha := fs.String("sha256", "", "expected sha256 of a single file (required for files not in the manifest)")
	maxBytes := fs.Int64("max-bytes", 4<<30, "largest accepted download of a file the manifest does not list")
	action, rest, err := actionWord(fs, "models", "action (install or list)", args)
	if err != nil {
		return err
	}
	if err := parseInterleaved(fs, rest); err != nil {
		return err
	}
	names := fs.Args()
	cfg, err := load()
	if err != nil {
		return err
	}
	dir := cfg.ModelsDir
	switch action {
	case "install":
		return c.install(ctx, dir, names, *from, *base, *sha, *maxBytes)
	case "list":
		if len(names) > 0 {
			return fmt.Errorf("models list: takes no names")
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "MODEL\tFILE\tSET\tSTATUS\tLICENCE\t(dir %s)\n", dir)
		for _, e := range modelfiles.Default().Files {
			status := "ok"
			if err := modelfiles.VerifyFile(filepath.Join(dir, e.File), e.SHA256); os.IsNotExist(unwrapAll(err)) {
				status = "missing"
			} else if err != nil {
				status = "BAD CHECKSUM"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", e.Name, e.File, e.Set, status, e.License)
		}
		tw.Flush()
		if err := modelfiles.Check(dir); err != nil {
			fmt.Fprintf(stderr, "vitrine: %v\n", err)
		}
	default:
		return fmt.Errorf("models: unknown action %q (want install or list)", action)
	}
	return nil
}

func (c *modelsCmd) install(ctx context.Context, dir string, names []string, from, base, sha string, maxBytes int64) error {
	m := modelfiles.Default()
	in := &modelfiles.Installer{Dir: dir, MaxBytes: maxBytes}
	printed := func(es []modelfiles.Entry) {
		for _, e := range es {
			fmt.Fprintf(stdout, "installed %s (%s) sha256 ok\n", filepath.Join(dir, e.File), e.Name)
		}
	}
	if from == "" {
		if sha != "" {
			return fmt.Errorf("models install: --sha256 applies to --from FILE|URL")
		}
		es, err := m.Select(names)
		if err != nil {
			return fmt.Errorf("models install: %w", err)
		}
		var total int64
		for _, e := range es {
			total += e.Size
		}
		where := base
		if where == "" {
			where = m.BaseURL
		}
		fmt.Fprintf(stderr, "models: %d files, %.1f MB, from %s (manifest version %d) into %s\n", len(es), float64(total)/1e6, where, m.Version, dir)
		last := ""
		in.Progress = func(file string, done, size int64) {
			if file != last {
				last = file
				fmt.Fprintf(stderr, "models: downloading %s (%.1f MB)\n", file, float64(size)/1e6)
			}
		}
		if err := in.Download(ctx, m, base, es); err != nil {
			return fmt.Errorf("models install: %w", err)
		}
		printed(es)
		return nil
	}
	st, err := os.Stat(from)
	if err == nil && st.IsDir() {
		if sha != "" {
			return fmt.Errorf("models install: --sha256 applies to a single file, not a directory")
		}
		if same(from, dir) {
			fmt.Fprintf(stderr, "models directory is already %s; verifying only\n", dir)
		}
		es, err := m.Select(names)
		if err != nil {
			return fmt.Errorf("models install: %w", err)
		}
		if err := in.CopyEntries(ctx, from, es); err != nil {
			return fmt.Errorf("models install: %w", err)
		}
		for _, e := range es {
			if e.Set == modelfiles.SetOptIn {
				fmt.Fprintf(stderr, "models: %s is opt-in; its licence: %s\n", e.Name, e.License)
			}
		}
		printed(es)
		return nil
	}
	if len(names) > 0 {
		return fmt.Errorf("models install: names go with --from DIR or no --from, not with a file or URL")
	}
	if !modelfiles.IsURL(from) && err != nil {
		return fmt.Errorf("models install: %w", err)
	}
	f, err := in.InstallOne(ctx, from, sha)
	if err != nil {
		return fmt.Errorf("models install: %w", err)
	}
	fmt.Fprintf(stdout, "installed %s sha256 ok\n", filepath.Join(dir, f.Name))
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
