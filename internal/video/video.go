// Package video runs the analysis workflow of a video:
//
//	probe -> decode -> shots -> sample -> detect -> track -> embed -> match -> assemble -> publish
//
// Each stage is a jobs.Step whose output is stored in the database (tables
// videos, video_shots, video_frames, video_detections, video_tracks,
// video_track_embeddings, video_matches, shoppable_docs) before the next one
// starts. The video is decoded at low resolution once ("decode" streams the
// frames through shot detection and a sharpness measure), and only the
// sampled frames are decoded again at detector resolution ("detect"). The
// embeddings of each track's best crops are kept, so a catalog change is
// handled by the "video.rematch" workflow (match -> assemble -> publish)
// without decoding the video again.
package video

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/track"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// Workflow kinds registered by Service.Register.
const (
	KindAnalyze = "video"
	KindRematch = "video.rematch"
	// KindRepublish assembles and publishes a new document version from
	// the stored matches, after review edits.
	KindRepublish = "video.republish"
)

// Step names, in workflow order.
const (
	StepProbe    = "probe"
	StepDecode   = "decode"
	StepShots    = "shots"
	StepSample   = "sample"
	StepDetect   = "detect"
	StepTrack    = "track"
	StepEmbed    = "embed"
	StepMatch    = "match"
	StepAssemble = "assemble"
	StepPublish  = "publish"
)

// Video states (videos.state).
const (
	StateQueued     = "queued"
	StateProcessing = "processing"
	StateReady      = "ready"
	StateFailed     = "failed"
)

// Detector finds objects in an image (internal/vision.Detector).
type Detector interface {
	Detect(ctx context.Context, img image.Image) ([]vision.Detection, error)
}

// Embedder embeds images into L2-normalised vectors
// (internal/vision.ImageEmbedder).
type Embedder interface {
	EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error)
}

// Garments turns person detections into labelled garment regions and
// shoppable detections into items, each with its crop embedding
// (internal/vision.GarmentLabeler).
type Garments interface {
	Items(ctx context.Context, img image.Image, dets []vision.Detection) ([]vision.Item, error)
}

// Catalog is the product catalog as matching sees it.
type Catalog interface {
	match.Searcher
	match.Products
	// Version identifies the catalog content the index reflects.
	Version(ctx context.Context) (string, error)
}

// Reviewer applies operators' review decisions to a document being
// assembled (internal/review.Store).
type Reviewer interface {
	ApplyReview(ctx context.Context, videoID string, doc *shoppable.Document) error
}

// BlobStore is the object store (internal/blob.Store).
type BlobStore interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// Config tunes the workflow. Zero fields take defaults.
type Config struct {
	// WorkDir caches local copies of source videos for ffmpeg.
	WorkDir string
	// AnalysisSize bounds the low-resolution decode used for shot detection
	// and sharpness (default 160).
	AnalysisSize int
	// DetectSize bounds the frames decoded for detection (default 640).
	DetectSize int
	// SampleFPS caps the sampled frames per second of each shot (default 2).
	SampleFPS float64
	// DetectThreshold is the detector score threshold for proposals of any
	// class: the matcher, not the detector, decides what is a product
	// (default 0.1).
	DetectThreshold float32
	// MinBoxFrac and MaxBoxFrac bound a proposal's area as a fraction of the
	// frame (defaults 0.004 and 0.8).
	MinBoxFrac, MaxBoxFrac float64
	// WindowProposals is how many class-agnostic proposals (windows whose
	// colours stand out from their surroundings, internal/propose) are
	// added per sampled frame besides the detector's boxes, for products
	// the detector has no class for. Negative turns them off (default
	// defaultWindowProposals).
	WindowProposals int
	// CropsPerTrack is how many crops of a track are embedded and kept
	// (default 4).
	CropsPerTrack int
	// Track tunes association.
	Track track.Config
	// Match tunes matching.
	Match match.Config
	// WebhookURL, when set, receives a signed POST when a video is
	// published; WebhookSecret is the HMAC-SHA256 key.
	WebhookURL    string
	WebhookSecret string
	// WebhookAttempts bounds delivery attempts (default 5), with backoff
	// starting at WebhookBackoff (default 1s).
	WebhookAttempts int
	WebhookBackoff  time.Duration
	// Confidence is the calibration of item confidences; nil uses
	// confidence.Default.
	Confidence *confidence.Model
	// LiveConfidence is the calibration of live streams' items; nil uses
	// confidence.DefaultLive.
	LiveConfidence *confidence.Model
	// PublishAt and ReviewAt, when positive, replace the calibration's
	// thresholds: an item is published from PublishAt, kept for review
	// from ReviewAt and dropped below.
	PublishAt, ReviewAt float64
	// MaxHotspots caps the published items on screen at once (default 3,
	// negative: no cap).
	MaxHotspots int
	// Models names the models in the shoppable document.
	DetectorName, EmbedderName, AppearanceName string
	// Projection configures the catalog's learned projection, which ranks
	// products when the catalog supports it (ProjectionOptions).
	Projection ProjectionOptions
}

// defaultWindowProposals is Config.WindowProposals when unset.
const defaultWindowProposals = 3

func (c Config) withDefaults() Config {
	if c.AnalysisSize <= 0 {
		c.AnalysisSize = 160
	}
	if c.DetectSize <= 0 {
		c.DetectSize = 640
	}
	if c.SampleFPS <= 0 {
		c.SampleFPS = 2
	}
	if c.DetectThreshold <= 0 {
		c.DetectThreshold = 0.1
	}
	if c.MinBoxFrac <= 0 {
		c.MinBoxFrac = 0.004
	}
	if c.MaxBoxFrac <= 0 {
		c.MaxBoxFrac = 0.8
	}
	if c.Track.MinLength == 0 {
		// A product seen in one sampled frame is still a product: the
		// matcher, not the track length, decides.
		c.Track.MinLength = 1
	}
	if c.WindowProposals == 0 {
		c.WindowProposals = defaultWindowProposals
	}
	if c.CropsPerTrack <= 0 {
		c.CropsPerTrack = 4
	}
	if c.WebhookAttempts <= 0 {
		c.WebhookAttempts = 5
	}
	if c.WebhookBackoff <= 0 {
		c.WebhookBackoff = time.Second
	}
	if c.WorkDir == "" {
		c.WorkDir = filepath.Join(os.TempDir(), "vitrine-video")
	}
	return c
}

// Deps are the components the workflow runs on.
type Deps struct {
	DB    *store.DB
	Blobs BlobStore
	Media *media.Tool
	// Detector, Embedder and Garments are required for analysis;
	// Appearance (re-ID) is optional.
	Detector   Detector
	Embedder   Embedder
	Appearance Embedder
	Garments   Garments
	// GarmentDetector, optional, finds garments directly (the opt-in
	// vision.RoleGarmentDetector model); its boxes become garment items
	// besides the person-derived regions (garmentDetectorItems).
	GarmentDetector Detector
	// Local, when set, verifies matched tracks with local features
	// (see verifyTracks).
	Local   LocalFeatures
	Catalog Catalog
	// LoadModels, when the model fields above are nil, loads them on first
	// use, so processes that never analyse a video pay nothing for them.
	LoadModels func(ctx context.Context) (*Models, error)
	// Review, when set, writes review edits into every assembled document.
	Review Reviewer
	// Runner enqueues workflows (Add, Rematch); nil leaves that to the caller.
	Runner *jobs.Runner
	HTTP   *http.Client // webhook client; nil uses a 10 s timeout client
	Logger *slog.Logger
}

// Models are the analysis models with the names recorded in documents.
type Models struct {
	Detector   Detector
	Embedder   Embedder
	Appearance Embedder // optional
	Garments   Garments
	Local      LocalFeatures // optional: instance verification
	// GarmentDetector is the opt-in garment detector (optional).
	GarmentDetector Detector
	// Names of the detector, embedder and appearance models.
	DetectorName, EmbedderName, AppearanceName string
}

// Service holds the workflow steps and the video queries.
type Service struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time

	loadMu sync.Mutex
}

// ensureModels loads the analysis models through Deps.LoadModels when they
// were not given.
func (s *Service) ensureModels(ctx context.Context) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.deps.Detector != nil && s.deps.Embedder != nil && s.deps.Garments != nil {
		return nil
	}
	if s.deps.LoadModels == nil {
		return errors.New("video: no analysis models (detector, embedder, garment labeler)")
	}
	m, err := s.deps.LoadModels(ctx)
	if err != nil {
		err = fmt.Errorf("video: load models: %w", err)
		if errors.Is(err, vision.ErrRuntimeMissing) {
			// Retrying cannot install the library: fail at once, with
			// the message that says how.
			err = jobs.Permanent(err)
		}
		return err
	}
	s.deps.Detector, s.deps.Embedder, s.deps.Appearance, s.deps.Garments = m.Detector, m.Embedder, m.Appearance, m.Garments
	if s.deps.Local == nil {
		s.deps.Local = m.Local
	}
	if s.deps.GarmentDetector == nil {
		s.deps.GarmentDetector = m.GarmentDetector
	}
	if s.cfg.DetectorName == "" {
		s.cfg.DetectorName, s.cfg.EmbedderName, s.cfg.AppearanceName = m.DetectorName, m.EmbedderName, m.AppearanceName
	}
	return nil
}

// Prewarm loads the analysis models and what matching reads of the
// catalog (its index, the appearance index) for a process about to run
// the workflow's steps: a fresh `vitrine video add` spends its first
// second in ffmpeg's decode with a core to spare, and the detect and match
// steps then find both loaded instead of loading them in their own time.
// It returns the first error; the steps load again, and report, whatever
// failed here.
func (s *Service) Prewarm(ctx context.Context) error {
	if err := s.ensureModels(ctx); err != nil {
		return err
	}
	if s.deps.Catalog == nil {
		return nil
	}
	if err := s.prepareCatalog(ctx); err != nil {
		return err
	}
	if w, ok := s.deps.Catalog.(catalogWarmer); ok {
		if err := w.warm(ctx, nil); err != nil {
			return fmt.Errorf("video: prewarm the catalog: %w", err)
		}
	}
	return nil
}

// appearanceUser is a Catalog that embeds product images with the
// appearance model to re-rank matches (CatalogSource, ServiceCatalog).
type appearanceUser interface {
	UseAppearance(e Embedder, name string)
}

// projectionUser is a Catalog that fits a learned projection of the
// embedder's vectors to rank matches (CatalogSource, ServiceCatalog).
type projectionUser interface {
	UseProjection(e Embedder, model string, o ProjectionOptions)
}

// indexUser is a Catalog whose index can open without the catalog's own
// models, for the vectors of the embedder named (ServiceCatalog).
type indexUser interface {
	UseIndexModel(model string, dim int)
}

// prepareCatalog gives the catalog the appearance model the detect step
// embedded crops with, loading the models if this process has not, so a
// match step resumed elsewhere scores the same cues.
func (s *Service) prepareCatalog(ctx context.Context) error {
	au, ok := s.deps.Catalog.(appearanceUser)
	if !ok {
		return nil
	}
	if err := s.ensureModels(ctx); err != nil {
		return err
	}
	if iu, ok := s.deps.Catalog.(indexUser); ok && s.cfg.EmbedderName != "" {
		if d, ok := s.deps.Embedder.(interface{ Dim() int }); ok {
			iu.UseIndexModel(s.cfg.EmbedderName, d.Dim())
		}
	}
	if s.deps.Appearance != nil {
		au.UseAppearance(s.deps.Appearance, s.cfg.AppearanceName)
	}
	if pu, ok := s.deps.Catalog.(projectionUser); ok && s.deps.Embedder != nil && s.cfg.EmbedderName != "" {
		pu.UseProjection(s.deps.Embedder, s.cfg.EmbedderName, s.cfg.Projection)
	}
	return nil
}

// New checks deps and returns a Service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.DB == nil {
		return nil, errors.New("video: no database")
	}
	if deps.Blobs == nil {
		return nil, errors.New("video: no blob store")
	}
	if deps.Media == nil {
		deps.Media = media.Default
	}
	if deps.HTTP == nil {
		deps.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg.withDefaults(), deps: deps, log: log, now: func() time.Time { return time.Now().UTC() }}, nil
}

// Definitions returns the analysis and rematch workflow definitions.
func (s *Service) Definitions() []jobs.Definition {
	step := func(name string, fn jobs.StepFunc) jobs.Step {
		return jobs.Step{Name: name, Run: s.guard(name, fn)}
	}
	return []jobs.Definition{
		{Kind: KindAnalyze, Steps: []jobs.Step{
			step(StepProbe, s.probe),
			step(StepDecode, s.decode),
			step(StepShots, s.shots),
			step(StepSample, s.sample),
			step(StepDetect, s.detect),
			step(StepTrack, s.track),
			step(StepEmbed, s.embed),
			step(StepMatch, s.match),
			step(StepAssemble, s.assemble),
			step(StepPublish, s.publish),
		}},
		{Kind: KindRematch, Steps: []jobs.Step{
			step(StepMatch, s.match),
			step(StepAssemble, s.assemble),
			step(StepPublish, s.publish),
		}},
		{Kind: KindRepublish, Steps: []jobs.Step{
			step(StepAssemble, s.assemble),
			step(StepPublish, s.publish),
		}},
	}
}

// Register adds the workflow definitions to r.
func (s *Service) Register(r *jobs.Runner) error {
	for _, d := range s.Definitions() {
		if err := r.Register(d); err != nil {
			return fmt.Errorf("video: register %s: %w", d.Kind, err)
		}
	}
	return nil
}

// guard marks the video failed when a step fails with bad input, which no
// retry can fix, and tells the runner so (jobs.Permanent): the step fails
// at once instead of being retried with backoff.
func (s *Service) guard(name string, fn jobs.StepFunc) jobs.StepFunc {
	return func(ctx context.Context, sc *jobs.StepContext) error {
		err := fn(ctx, sc)
		if err != nil {
			// Step errors reach API clients and the console: name the
			// upload, not this node's work-directory path.
			err = redacted{err: err, r: strings.NewReplacer(
				filepath.Join(s.cfg.WorkDir, sc.Subject, "source"), "uploaded video",
				s.cfg.WorkDir, "<work dir>")}
		}
		bad := err != nil && media.IsBadInput(err)
		if bad {
			msg := fmt.Sprintf("%s: %v", name, err)
			if _, uerr := s.deps.DB.Write.ExecContext(ctx, s.deps.DB.Rebind(`UPDATE videos SET state = ?, error = ?, updated_at = ? WHERE id = ?`),
				StateFailed, msg, s.now(), sc.Subject); uerr != nil {
				s.log.Warn("video: mark failed", "video", sc.Subject, "err", uerr)
			}
		}
		if bad {
			err = jobs.Permanent(err)
		}
		if err != nil {
			return fmt.Errorf("video %s: %s: %w", sc.Subject, name, err)
		}
		return nil
	}
}

// redacted replaces local paths in an error's text and keeps the error
// chain intact for errors.Is and errors.As.
type redacted struct {
	err error
	r   *strings.Replacer
}

func (e redacted) Error() string { return e.r.Replace(e.err.Error()) }
func (e redacted) Unwrap() error { return e.err }

// NewID returns a fresh random video id.
func NewID() string { return "v_" + strings.ToLower(rand.Text()[:16]) }
