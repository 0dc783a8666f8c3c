package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/store"
)

func init() {
	register("backup", "online backup of the embedded install (database and blobs) to a directory", func() command { return &backupCmd{} })
	register("restore", "restore a backup made by 'vitrine backup' into the data directory", func() command { return &restoreCmd{} })
}

// backupFormat names the layout of a backup directory:
//
//	manifest.json   this format, time, files with sizes and SHA-256
//	vitrine.db      the SQLite database (VACUUM INTO: consistent, compacted)
//	blobs/…         the blob directory as stored (encrypted objects stay encrypted)
//	files/…         configuration files of the data directory (commerce.toml)
const backupFormat = "vitrine-backup/1"

type manifest struct {
	Format    string         `json:"format"`
	CreatedAt time.Time      `json:"created_at"`
	Version   string         `json:"vitrine_version"`
	Files     []manifestFile `json:"files"`
	Blobs     bool           `json:"blobs"`
}

type manifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// dataDirFiles are the configuration files of a data directory that a
// backup carries along.
var dataDirFiles = []string{"commerce.toml"}

type backupCmd struct{}

func (c *backupCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("backup", "backup DIR [--data-dir D] [--skip-blobs]",
		"Writes a backup of the embedded install to DIR (which must not exist or be\n"+
			"empty) while serve keeps running: the SQLite database through VACUUM INTO\n"+
			"(a consistent snapshot), then the blob directory file by file. Encrypted\n"+
			"blobs are copied as they are: keep the key-encryption key (VITRINE_KEK)\n"+
			"somewhere else, a backup never contains it. On PostgreSQL use pg_dump; on\n"+
			"S3 use the bucket's versioning or replication (--skip-blobs).")
	load := withConfig(fs)
	skipBlobs := fs.Bool("skip-blobs", false, "back up the database only")
	if err := parseInterleaved(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("backup: want one destination directory")
	}
	cfg, err := load()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m, err := backup(ctx, cfg, fs.Arg(0), *skipBlobs)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	fmt.Fprintf(stdout, "backup written to %s: %d files, %d bytes\n", fs.Arg(0), len(m.Files), total)
	return nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments.
func parseInterleaved(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

func blobDir(cfg *config.Config) (string, error) {
	u := cfg.Blob
	switch {
	case strings.HasPrefix(u, "file://"):
		return strings.TrimPrefix(u, "file://"), nil
	case strings.Contains(u, "://"):
		return "", fmt.Errorf("blob store %s is not a directory: back it up with the object store's own tools and pass --skip-blobs", withoutQuery(u))
	}
	return u, nil
}

// withoutQuery drops a URL's query (it may carry credentials).
func withoutQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func backup(ctx context.Context, cfg *config.Config, dest string, skipBlobs bool) (*manifest, error) {
	if !isSQLitePath(cfg.DB) {
		return nil, errors.New("the database is PostgreSQL: back it up with pg_dump")
	}
	src := ""
	if !skipBlobs {
		var err error
		if src, err = blobDir(cfg); err != nil {
			return nil, err
		}
	}
	if ents, err := os.ReadDir(dest); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s is not empty", dest)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dest, 0o750); err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	dbDest, err := filepath.Abs(filepath.Join(dest, "vitrine.db"))
	if err != nil {
		db.Close()
		return nil, err
	}
	// VACUUM INTO reads one consistent snapshot while writers go on.
	_, err = db.Write.ExecContext(ctx, `VACUUM INTO ?`, dbDest)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("database snapshot: %w", err)
	}
	m := &manifest{Format: backupFormat, CreatedAt: time.Now().UTC(), Version: version, Blobs: !skipBlobs}
	add := func(rel string) error {
		f, err := hashFile(filepath.Join(dest, rel))
		if err != nil {
			return err
		}
		f.Path = filepath.ToSlash(rel)
		m.Files = append(m.Files, f)
		return nil
	}
	if err := add("vitrine.db"); err != nil {
		return nil, err
	}
	for _, name := range dataDirFiles {
		p := filepath.Join(cfg.DataDir, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		rel := filepath.Join("files", name)
		if err := copyFile(p, filepath.Join(dest, rel)); err != nil {
			return nil, err
		}
		if err := add(rel); err != nil {
			return nil, err
		}
	}
	if !skipBlobs {
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // deleted while walking
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if !d.Type().IsRegular() || tmpBlob.MatchString(d.Name()) {
				return nil
			}
			rel, err := filepath.Rel(src, p)
			if err != nil {
				return err
			}
			rel = filepath.Join("blobs", rel)
			if err := copyFile(p, filepath.Join(dest, rel)); errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return err
			}
			return add(rel)
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("blobs: %w", err)
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dest, "manifest.json"), append(b, '\n'), 0o640); err != nil {
		return nil, err
	}
	return m, nil
}

// tmpBlob matches the blob store's in-progress writes (name.<hex time>.tmp).
var tmpBlob = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)

func isSQLitePath(dsn string) bool {
	return !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://")
}

func hashFile(p string) (manifestFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return manifestFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return manifestFile{}, fmt.Errorf("read %s: %w", p, err)
	}
	return manifestFile{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// copyFile copies src to dst through a temporary file, so dst is complete
// or absent.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".copy-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

type restoreCmd struct{}

func (c *restoreCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("restore", "restore DIR [--data-dir D] [--force]",
		"Restores a backup made by 'vitrine backup' into the data directory's\n"+
			"database and blob directory. Every file is checked against the\n"+
			"backup's manifest first. serve and worker must be stopped. An existing\n"+
			"installation is refused unless --force, which moves it aside to\n"+
			"<data-dir>/pre-restore-<time>/ rather than deleting it.")
	load := withConfig(fs)
	force := fs.Bool("force", false, "replace an existing installation (moved aside, not deleted)")
	if err := parseInterleaved(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("restore: want one backup directory")
	}
	cfg, err := load()
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := restore(ctx, cfg, fs.Arg(0), *force); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", fs.Arg(0), cfg.DataDir)
	return nil
}

func restore(ctx context.Context, cfg *config.Config, src string, force bool) error {
	if !isSQLitePath(cfg.DB) {
		return errors.New("the database is PostgreSQL: restore it with pg_restore")
	}
	raw, err := os.ReadFile(filepath.Join(src, "manifest.json"))
	if err != nil {
		return fmt.Errorf("%s is not a vitrine backup: %w", src, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil || m.Format != backupFormat {
		return fmt.Errorf("%s/manifest.json is not a %s manifest", src, backupFormat)
	}
	dir := ""
	if m.Blobs {
		if dir, err = blobDir(cfg); err != nil {
			return err
		}
	}
	// Check everything before touching the installation.
	for _, f := range m.Files {
		if !safeRel(f.Path) {
			return fmt.Errorf("manifest names an unsafe path %q", f.Path)
		}
		got, err := hashFile(filepath.Join(src, filepath.FromSlash(f.Path)))
		if err != nil {
			return fmt.Errorf("backup file %s: %w", f.Path, err)
		}
		if got.Size != f.Size || got.SHA256 != f.SHA256 {
			return fmt.Errorf("backup file %s does not match the manifest (damaged backup)", f.Path)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	lock, err := os.OpenFile(cfg.LockFile(), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("%s is in use by a running serve or worker: stop it first", cfg.DataDir)
	}
	existing := []string{cfg.DB, cfg.DB + "-wal", cfg.DB + "-shm"}
	if dir != "" {
		existing = append(existing, dir)
	}
	for _, name := range dataDirFiles {
		existing = append(existing, filepath.Join(cfg.DataDir, name))
	}
	var present []string
	for _, p := range existing {
		if _, err := os.Stat(p); err == nil {
			present = append(present, p)
		}
	}
	if len(present) > 0 {
		if !force {
			return fmt.Errorf("%s already holds an installation (%s): pass --force to move it aside", cfg.DataDir, present[0])
		}
		aside := filepath.Join(cfg.DataDir, "pre-restore-"+time.Now().UTC().Format("20060102T150405Z"))
		if err := os.MkdirAll(aside, 0o750); err != nil {
			return err
		}
		for _, p := range present {
			if err := os.Rename(p, filepath.Join(aside, filepath.Base(p))); err != nil {
				return fmt.Errorf("move %s aside: %w", p, err)
			}
		}
		fmt.Fprintf(stderr, "moved the existing installation to %s\n", aside)
	}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		from := filepath.Join(src, filepath.FromSlash(f.Path))
		var to string
		switch first, rest, _ := strings.Cut(f.Path, "/"); {
		case f.Path == "vitrine.db":
			to = cfg.DB
		case first == "blobs" && dir != "":
			to = filepath.Join(dir, filepath.FromSlash(rest))
		case first == "files":
			to = filepath.Join(cfg.DataDir, filepath.FromSlash(rest))
		default:
			continue
		}
		if err := copyFile(from, to); err != nil {
			return err
		}
	}
	return nil
}

// safeRel reports whether p is a clean relative slash path inside the backup.
func safeRel(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
