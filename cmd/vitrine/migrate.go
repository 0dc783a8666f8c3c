package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/crypt"
	"github.com/vitrine-dev/vitrine/internal/migrate"
	"github.com/vitrine-dev/vitrine/internal/store"
)

func init() {
	register("migrate", "move an embedded installation to PostgreSQL + S3", func() command { return &migrateCmd{} })
}

type migrateCmd struct{}

func (c *migrateCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate", "migrate --to-db postgres://… --to-blob s3://bucket?… [flags]",
		"Copies the embedded installation (--data-dir, or --db and --blob) to an empty\n"+
			"PostgreSQL database and an S3-compatible bucket: every row of every table\n"+
			"(products, vectors, videos, shoppable documents, keys, workflows, analytics)\n"+
			"and every blob, then compares row counts. Stop 'vitrine serve' first: the\n"+
			"data directory must not be in use, and no workflow may be unfinished.\n"+
			"S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Blobs\n"+
			"already copied are skipped when the command is run again after an error.")
	toDB := fs.String("to-db", "", "destination PostgreSQL URL (postgres://…)")
	toBlob := fs.String("to-blob", "", "destination blob store URL (s3://bucket?endpoint=…&region=…&use_path_style=true)")
	load := withConfig(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q", fs.Arg(0))
	}
	if !strings.HasPrefix(*toDB, "postgres://") && !strings.HasPrefix(*toDB, "postgresql://") {
		return errors.New("migrate: --to-db must be a postgres:// URL")
	}
	if *toBlob == "" {
		return errors.New("migrate: --to-blob is required (an s3:// URL, or a directory)")
	}
	a, err := openApp(ctx, load, app.Options{RequireLock: true})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer a.Close(ctx)
	if a.Shared {
		return errors.New("migrate: the source is already PostgreSQL (--db); point --data-dir or --db at the SQLite installation")
	}
	dst, err := store.Open(ctx, *toDB)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer dst.Close()
	// With a key-encryption key configured, objects stay encrypted at rest
	// in the destination (read decrypted, written encrypted).
	kr, err := crypt.LoadKeyring(a.Config.KEK, a.Config.KEKFile)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	dstBlobs, err := blob.OpenWith(ctx, *toBlob, blob.Options{Keyring: kr})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer dstBlobs.Close()
	rep, err := migrate.Run(ctx, a.DB, a.Blob, dst, dstBlobs, a.Log)
	if err != nil {
		return err
	}
	tables := make([]string, 0, len(rep.Rows))
	var rows int64
	for t, n := range rep.Rows {
		tables = append(tables, t)
		rows += n
	}
	sort.Strings(tables)
	for _, t := range tables {
		fmt.Fprintf(stdout, "%-28s %d rows\n", t, rep.Rows[t])
	}
	fmt.Fprintf(stdout, "migrated %d rows in %d tables and %d blobs (%d bytes; %d already present)\n",
		rows, len(tables), rep.Blobs, rep.BlobBytes, rep.BlobsSkipped)
	if dstBlobs.Encrypted() {
		fmt.Fprintln(stdout, "blobs are encrypted at rest in the destination with the configured key-encryption key")
	}
	fmt.Fprintf(stdout, "start nodes with --db '%s' --blob '%s'\n", redactURL(*toDB), *toBlob)
	return nil
}

// redactURL hides a password in a database URL before printing it.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		return u
	}
	if user, _, hasPw := strings.Cut(rest[:at], ":"); hasPw {
		return scheme + "://" + user + ":***" + rest[at:]
	}
	return u
}
