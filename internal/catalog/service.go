package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// Models are the vision models the catalog uses (see internal/catalog/catvision).
type Models struct {
	Detector Detector
	Embedder Embedder
	// Text is the text encoder paired with Embedder, or nil.
	Text TextEncoder
	// Appearance, when set, embeds each image's main item with the
	// appearance (re-ID) model the video matcher compares crops with;
	// AppearanceModel names it in stored vectors.
	Appearance      Embedder
	AppearanceModel string
	// Model names Embedder in stored vectors; Dim is its vector length.
	Model     string
	Dim       int
	Shoppable []string
	// Views, when set, gives the gallery views embedded beside each image
	// (see Viewer).
	Views Viewer
	// Closer releases the models.
	Closer io.Closer
}

// Service is the catalog of one installation. Models and the index are
// loaded on first use, so commands that never touch the catalog pay
// nothing for it.
type Service struct {
	Store   *Store
	Blobs   Blobs
	Fetcher URLFetcher
	// Prepare, when set before first use, is the ingester's Prepare: what
	// runs on a batch's products once they are indexed.
	Prepare PrepareFunc
	// Decoded, when set before first use, is the ingester's Decoded.
	Decoded DecodedFunc
	// OpenModels loads the models on first use.
	OpenModels func(ctx context.Context) (*Models, error)
	Log        *slog.Logger
	// OnIndex, when set, is called once the index is loaded (scale-out
	// nodes start following other nodes' catalog changes there).
	OnIndex func(*Index)

	mu       sync.Mutex
	models   *Models
	index    *Index // loaded by Index or load; both share it
	ingester *Ingester
	searcher *Searcher
}

// NewService returns a Service on db and blobs.
func NewService(db *store.DB, blobs Blobs, fetcher URLFetcher, open func(context.Context) (*Models, error), log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{Store: NewStore(db), Blobs: blobs, Fetcher: fetcher, OpenModels: open, Log: log}
}

// ErrNoModels is returned when the catalog needs models and none can be loaded.
var ErrNoModels = errors.New("catalog: vision models are not available")

// load opens models and the index once; a failure is retried on next use.
func (s *Service) load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ingester != nil {
		return nil
	}
	if s.OpenModels == nil {
		return ErrNoModels
	}
	m, err := s.OpenModels(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoModels, err)
	}
	ix, err := s.openIndex(ctx, m.Model, m.Dim)
	if err != nil {
		if m.Closer != nil {
			m.Closer.Close()
		}
		return err
	}
	s.models = m
	s.ingester = &Ingester{Store: s.Store, Blobs: s.Blobs, Fetcher: s.Fetcher, Detector: m.Detector, Embedder: m.Embedder,
		Appearance: m.Appearance, AppearanceModel: m.AppearanceModel,
		Model: m.Model, Shoppable: m.Shoppable, Index: ix, Log: s.Log, Prepare: s.Prepare, Decoded: s.Decoded, Views: m.Views}
	s.searcher = &Searcher{Store: s.Store, Index: ix, Detector: m.Detector, Embedder: m.Embedder, Text: m.Text, Shoppable: m.Shoppable}
	return nil
}

// Index returns the vector index of model's vectors (dim long), loading
// it on first use without the models: a process that only searches with
// vectors it embeds itself (video matching) need not open the catalog's
// model sessions. The ingester and searcher, loaded later, use the same
// index. It fails when the index already loaded is of another model.
func (s *Service) Index(ctx context.Context, model string, dim int) (*Index, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openIndex(ctx, model, dim)
}

// openIndex returns s.index, opening it on first use; s.mu is held.
func (s *Service) openIndex(ctx context.Context, model string, dim int) (*Index, error) {
	if s.index != nil {
		if s.index.model != model || s.index.Dim() != dim {
			return nil, fmt.Errorf("catalog: index of %s (%d dims) wanted, %s (%d dims) loaded", model, dim, s.index.model, s.index.Dim())
		}
		return s.index, nil
	}
	ix, err := OpenIndex(ctx, s.Store, s.Blobs, model, dim, s.Log)
	if err != nil {
		return nil, err
	}
	s.index = ix
	if s.OnIndex != nil {
		s.OnIndex(ix)
	}
	return ix, nil
}

// Ingester returns the ingester, loading models and the index on first use.
func (s *Service) Ingester(ctx context.Context) (*Ingester, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s.ingester, nil
}

// Searcher returns the searcher, loading models and the index on first use.
func (s *Service) Searcher(ctx context.Context) (*Searcher, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s.searcher, nil
}

// Close releases the models.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models != nil && s.models.Closer != nil {
		return s.models.Closer.Close()
	}
	return nil
}

// Definition returns the "catalog" workflow; its steps load the models on
// first use.
func (s *Service) Definition() jobs.Definition {
	return definition(s.Ingester)
}

// Definition returns the "catalog" workflow running on this ingester.
func (in *Ingester) Definition() jobs.Definition {
	return definition(func(context.Context) (*Ingester, error) { return in, nil })
}

// InputOnly returns an ingester without models, enough to enqueue
// batches, wait for them and read summaries (the workflow's steps load the
// models where they run).
func (s *Service) InputOnly() *Ingester {
	return s.inputOnly()
}

func (s *Service) inputOnly() *Ingester {
	return &Ingester{Store: s.Store, Blobs: s.Blobs, Log: s.Log}
}

// EnqueueFile checks the file and starts a catalog workflow for it; see
// Ingester.EnqueueFile. It does not load models.
func (s *Service) EnqueueFile(ctx context.Context, r *jobs.Runner, path string) (batch, workflow int64, err error) {
	return s.inputOnly().EnqueueFile(ctx, r, path)
}

// EnqueueProducts starts a catalog workflow for products given by value.
func (s *Service) EnqueueProducts(ctx context.Context, r *jobs.Runner, ps []Product) (batch, workflow int64, err error) {
	return s.inputOnly().EnqueueProducts(ctx, r, ps)
}

// Wait follows a catalog workflow; see Ingester.Wait.
func (s *Service) Wait(ctx context.Context, r *jobs.Runner, batch, workflow int64, progress ProgressFunc) (Summary, error) {
	return s.inputOnly().Wait(ctx, r, batch, workflow, progress)
}

// Summary returns a batch's summary.
func (s *Service) Summary(ctx context.Context, batch int64) (Summary, error) {
	return s.inputOnly().Summary(ctx, batch)
}

// Delete removes products from the store and, when loaded, from the index.
func (s *Service) Delete(ctx context.Context, ids []string) (Summary, error) {
	in, err := s.Ingester(ctx)
	if err != nil {
		// Without models the index is rebuilt from the store at next load,
		// so deleting from the store alone is enough.
		in = s.inputOnly()
	}
	return in.Delete(ctx, ids)
}
