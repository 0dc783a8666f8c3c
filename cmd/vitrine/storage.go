package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/crypt"
	"github.com/vitrine-dev/vitrine/internal/lifecycle"
)

func init() {
	register("storage", "report storage by class and apply retention (lifecycle)", func() command { return &storageCmd{} })
}

type storageCmd struct{}

// lifecycleBlobs adapts blob.Store to lifecycle.Blobs.
type lifecycleBlobs struct{ *blob.Store }

func (b lifecycleBlobs) Attributes(ctx context.Context, key string) (lifecycle.Attrs, error) {
	a, err := b.Store.Attributes(ctx, key)
	return lifecycle.Attrs{Size: a.Size, ContentType: a.ContentType, ModTime: a.ModTime}, err
}

func (c *storageCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("storage", "storage [report|apply] [--json]",
		"Reports what vitrine stores, by class (originals, thumbnails, product\n"+
			"images, import batches, index snapshots, local work files), and what\n"+
			"the retention settings (VITRINE_RETAIN_*, VITRINE_KEEP_SNAPSHOTS) would\n"+
			"remove. 'apply' removes it; expired originals move to\n"+
			"VITRINE_ARCHIVE_BLOB when it is set. Run it from cron or a timer.")
	load := withConfig(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	action := "report"
	if len(args) > 0 && (args[0] == "report" || args[0] == "apply") {
		action, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("storage: unknown action %q (want report or apply)", fs.Arg(0))
	}
	a, err := openApp(ctx, load, app.Options{})
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer a.Close(ctx)
	p, closeArchive, err := retentionPolicy(ctx, a)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer closeArchive()
	cfg := a.Config
	work := filepath.Join(cfg.DataDir, "work", "videos")
	rep, err := lifecycle.Run(ctx, lifecycleBlobs{a.Blob}, work, p, time.Now(), action == "apply")
	if err != nil {
		return fmt.Errorf("storage %s: %w", action, err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CLASS\tOBJECTS\tBYTES\tEXPIRED\tEXPIRED BYTES\t")
	var total, exp int64
	for _, c := range rep.Classes {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t\n", c.Class, c.Objects, human(c.Bytes), c.Expired, human(c.ExpiredBytes))
		total += c.Bytes
		exp += c.ExpiredBytes
	}
	fmt.Fprintf(tw, "total\t\t%s\t\t%s\t\n", human(total), human(exp))
	if err := tw.Flush(); err != nil {
		return err
	}
	if action == "apply" {
		auditCLI(ctx, a, "storage apply", fmt.Sprintf("storage apply: removed %d, archived %d", rep.Removed, rep.Moved))
		fmt.Fprintf(stdout, "removed %d, archived %d\n", rep.Removed, rep.Moved)
	} else if len(rep.Expired) > 0 {
		fmt.Fprintf(stdout, "%d objects expired; 'vitrine storage apply' removes them\n", len(rep.Expired))
	}
	return nil
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// retentionPolicy builds the lifecycle policy of the configuration; the
// returned func closes the archive store, if any.
func retentionPolicy(ctx context.Context, a *app.App) (lifecycle.Policy, func(), error) {
	cfg := a.Config
	p := lifecycle.Policy{WorkFiles: cfg.RetainWork, Batches: cfg.RetainBatches, KeepSnapshots: cfg.KeepSnapshots, Originals: cfg.RetainOriginals}
	if cfg.ArchiveBlob == "" {
		return p, func() {}, nil
	}
	kr, err := crypt.LoadKeyring(cfg.KEK, cfg.KEKFile)
	if err != nil {
		return p, nil, err
	}
	arch, err := blob.OpenWith(ctx, cfg.ArchiveBlob, blob.Options{Keyring: kr})
	if err != nil {
		return p, nil, fmt.Errorf("archive: %w", err)
	}
	p.Archive = lifecycleBlobs{arch}
	return p, func() { arch.Close() }, nil
}

// runRetention applies retention every interval until ctx is done (serve,
// embedded mode). A pass that removed something is in the audit log.
func runRetention(ctx context.Context, a *app.App, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p, closeArchive, err := retentionPolicy(ctx, a)
		if err != nil {
			a.Log.Error("retention", "err", err)
			continue
		}
		rep, err := lifecycle.Run(ctx, lifecycleBlobs{a.Blob}, filepath.Join(a.Config.DataDir, "work", "videos"), p, time.Now(), true)
		closeArchive()
		if err != nil {
			if ctx.Err() == nil {
				a.Log.Error("retention", "err", err)
			}
			continue
		}
		if rep.Removed+rep.Moved > 0 {
			a.Log.Info("retention applied", "removed", rep.Removed, "archived", rep.Moved)
			auditCLI(ctx, a, "storage apply", fmt.Sprintf("retention in serve: removed %d, archived %d", rep.Removed, rep.Moved))
		}
	}
}
