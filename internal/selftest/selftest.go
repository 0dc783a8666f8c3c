// Package selftest is the "selftest" workflow: it checks an installation
// step by step (database, blob store, ffmpeg, ONNX Runtime, model files),
// each check a stored workflow step, so an operator can watch it in the
// console and a broken piece is named precisely.
package selftest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/modelfiles"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// Kind is the workflow kind.
const Kind = "selftest"

// Input is the workflow input.
type Input struct {
	// StepDelay pauses before each check (a Go duration), so the graph can be
	// watched; it is also what the crash-resume test kills the server in.
	StepDelay string `json:"step_delay,omitempty"`
}

// Deps are what the checks exercise.
type Deps struct {
	DB        *store.DB
	Blob      *blob.Store
	ModelsDir string
	// ORTLib is the configured ONNX Runtime library ("" searches the usual places).
	ORTLib string
}

// Steps names the checks in order.
var Steps = []string{"database", "blob", "ffmpeg", "onnxruntime", "models"}

// Definition returns the workflow definition.
func Definition(d Deps) jobs.Definition {
	c := &checker{d}
	fns := map[string]func(context.Context, *jobs.StepContext) error{
		"database": c.database, "blob": c.blob, "ffmpeg": c.ffmpeg, "onnxruntime": c.onnxruntime, "models": c.models,
	}
	def := jobs.Definition{Kind: Kind}
	for _, name := range Steps {
		fn := fns[name]
		def.Steps = append(def.Steps, jobs.Step{Name: name, MaxAttempts: 2, Timeout: 2 * time.Minute, Run: delayed(fn)})
	}
	return def
}

type checker struct{ Deps }

func delayed(fn jobs.StepFunc) jobs.StepFunc {
	return func(ctx context.Context, sc *jobs.StepContext) error {
		var in Input
		if len(sc.Input) > 0 {
			if err := json.Unmarshal(sc.Input, &in); err != nil {
				return fmt.Errorf("selftest: input: %w", err)
			}
		}
		if in.StepDelay != "" {
			d, err := time.ParseDuration(in.StepDelay)
			if err != nil || d < 0 {
				return fmt.Errorf("selftest: step_delay %q is not a duration", in.StepDelay)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		return fn(ctx, sc)
	}
}

func token() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// database writes a row in a transaction, reads it back on the read pool and
// removes it.
func (c *checker) database(ctx context.Context, sc *jobs.StepContext) error {
	key, val := fmt.Sprintf("selftest.%d", sc.WorkflowID), token()
	db := c.DB
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`), key, val)
		return err
	})
	if err != nil {
		return fmt.Errorf("selftest: database write: %w", err)
	}
	var got string
	if err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT value FROM settings WHERE key = ?`), key).Scan(&got); err != nil {
		return fmt.Errorf("selftest: database read: %w", err)
	}
	if got != val {
		return fmt.Errorf("selftest: database read back %q, wrote %q", got, val)
	}
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`DELETE FROM settings WHERE key = ?`), key); err != nil {
		return fmt.Errorf("selftest: database delete: %w", err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	sc.Log("database round trip ok", "dialect", string(db.Dialect), "schema_version", v)
	return sc.SetOutput(map[string]any{"dialect": db.Dialect, "schema_version": v})
}

func (c *checker) blob(ctx context.Context, sc *jobs.StepContext) error {
	key := fmt.Sprintf("selftest/%d-%s", sc.WorkflowID, token())
	data := []byte("vitrine selftest " + key)
	if err := c.Blob.Put(ctx, key, bytes.NewReader(data), "text/plain"); err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	defer c.Blob.Delete(context.WithoutCancel(ctx), key)
	r, err := c.Blob.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return fmt.Errorf("selftest: blob read: %w", err)
	}
	if !bytes.Equal(got, data) {
		return errors.New("selftest: blob read back different bytes")
	}
	sc.Log("blob round trip ok", "store", c.Blob.URL())
	return sc.SetOutput(map[string]string{"store": c.Blob.URL()})
}

func (c *checker) ffmpeg(ctx context.Context, sc *jobs.StepContext) error {
	out := map[string]string{}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		b, err := exec.CommandContext(ctx, tool, "-hide_banner", "-version").Output()
		if err != nil {
			return fmt.Errorf("selftest: run %s -version (install ffmpeg: scripts/setup.sh): %w", tool, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != "version" {
			return fmt.Errorf("selftest: %s -version printed %q", tool, line)
		}
		out[tool] = f[2]
		sc.Log(tool+" found", "version", f[2])
	}
	return sc.SetOutput(out)
}

func (c *checker) onnxruntime(ctx context.Context, sc *jobs.StepContext) error {
	if err := vision.InitRuntime(c.ORTLib); err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	v := ort.GetVersion()
	sc.Log("ONNX Runtime loaded", "version", v, "library", vision.RuntimeLibrary())
	return sc.SetOutput(map[string]string{"version": v, "library": vision.RuntimeLibrary()})
}

// models verifies the checksum of every model of the default manifest and
// of their external data files.
func (c *checker) models(ctx context.Context, sc *jobs.StepContext) error {
	if st, err := os.Stat(c.ModelsDir); err != nil || !st.IsDir() {
		return fmt.Errorf("selftest: models directory %s is missing (run `vitrine models install`, or `vitrine models install --from DIR` from a local copy)", c.ModelsDir)
	}
	files := modelfiles.Known()
	verified := map[string]string{}
	for i, f := range files {
		sc.Progress(int64(i), int64(len(files)))
		err := modelfiles.VerifyFile(filepath.Join(c.ModelsDir, f.Name), f.SHA256)
		if f.Optional && errors.Is(err, os.ErrNotExist) {
			sc.Log("optional model not installed: its feature is off", "file", f.Name)
			continue
		}
		if err != nil {
			return fmt.Errorf("selftest: model %s: %w (run `vitrine models install`, or `vitrine models install --from DIR` from a local copy)", f.Name, err)
		}
		verified[f.Name] = f.SHA256
		sc.Log("model verified", "file", f.Name)
	}
	return sc.SetOutput(verified)
}
