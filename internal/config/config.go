// Package config loads vitrine's configuration from, in order of precedence,
// command-line flags, VITRINE_* environment variables, an optional TOML file
// and built-in defaults.
//
// Adding a setting is one struct field with its tags:
//
//	MaxWidgets int `toml:"max_widgets" env:"VITRINE_MAX_WIDGETS" flag:"max-widgets" default:"10" usage:"how many widgets"`
//
// Supported field types: string, bool, int, int64, float64, time.Duration.
// Fields without a flag tag are settable only by env and file. Defaults that
// depend on other fields (paths under the data dir) are filled in by resolve.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole of vitrine's configuration.
type Config struct {
	// ConfigFile is the TOML file the rest was read from, if any.
	ConfigFile string `toml:"-" env:"VITRINE_CONFIG" flag:"config" usage:"optional TOML config file"`

	DataDir   string `toml:"data_dir" env:"VITRINE_DATA_DIR" flag:"data-dir" default:"./vitrine-data" usage:"data directory of the embedded default (database, blobs, lock)"`
	Addr      string `toml:"addr" env:"VITRINE_ADDR" flag:"addr" default:"127.0.0.1:8080" usage:"HTTP listen address (host:port)"`
	DB        string `toml:"db" env:"VITRINE_DB" flag:"db" usage:"database: SQLite file path or postgres://… (default <data-dir>/vitrine.db)"`
	Blob      string `toml:"blob" env:"VITRINE_BLOB" flag:"blob" usage:"blob store: directory, file://DIR or s3://bucket?… (default <data-dir>/blobs)"`
	ModelsDir string `toml:"models_dir" env:"VITRINE_MODELS" flag:"models" usage:"directory with ONNX models (default ../shared/models when present, else <data-dir>/models)"`
	ORTLib    string `toml:"ort_lib" env:"VITRINE_ORT_LIB" flag:"ort-lib" usage:"path of libonnxruntime.so.1 (default: .deps/onnxruntime/ under the working dir, module root or executable dir, then system paths)"`
	Workers   int    `toml:"workers" env:"VITRINE_WORKERS" flag:"workers" default:"2" usage:"concurrent workflow steps in this process (0 = API only)"`

	// AdminKey, when set, is installed as an admin API key at start instead
	// of generating a bootstrap key.
	AdminKey string `toml:"admin_key" env:"VITRINE_ADMIN_KEY" usage:"bootstrap admin API key"`

	LogLevel  string `toml:"log_level" env:"VITRINE_LOG_LEVEL" flag:"log-level" default:"info" usage:"log level: debug, info, warn, error"`
	LogFormat string `toml:"log_format" env:"VITRINE_LOG_FORMAT" flag:"log-format" default:"text" usage:"log format: text or json"`

	MaxUploadBytes  int64         `toml:"max_upload_bytes" env:"VITRINE_MAX_UPLOAD_BYTES" flag:"max-upload-bytes" default:"2147483648" usage:"largest accepted upload in bytes"`
	ShutdownTimeout time.Duration `toml:"shutdown_timeout" env:"VITRINE_SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" default:"30s" usage:"graceful shutdown limit"`

	// Workflow retries: exponential backoff from RetryBase doubling up to RetryMax.
	RetryBase   time.Duration `toml:"retry_base" env:"VITRINE_RETRY_BASE" default:"1s" usage:"first retry delay of a failed step"`
	RetryMax    time.Duration `toml:"retry_max" env:"VITRINE_RETRY_MAX" default:"5m" usage:"largest retry delay"`
	MaxAttempts int           `toml:"max_attempts" env:"VITRINE_MAX_ATTEMPTS" default:"5" usage:"default attempts per step"`
	StepTimeout time.Duration `toml:"step_timeout" env:"VITRINE_STEP_TIMEOUT" default:"2h" usage:"default time limit of one step attempt"`
	// RescueAfter is when a running step of another node counts as stuck
	// (scale-out only; the embedded default rescues its own orphans at start).
	// 0 means the longest step timeout plus a minute.
	RescueAfter  time.Duration `toml:"rescue_after" env:"VITRINE_RESCUE_AFTER" default:"0" usage:"stuck step rescue horizon (scale-out; 0 = longest step timeout + 1m)"`
	PollInterval time.Duration `toml:"poll_interval" env:"VITRINE_POLL_INTERVAL" default:"50ms" usage:"job queue poll interval (a step queued by another process waits up to one interval; in-process hand-offs are immediate)"`

	// Video analysis.
	SampleFPS             float64 `toml:"sample_fps" env:"VITRINE_SAMPLE_FPS" default:"2" usage:"most frames analysed per second of each shot"`
	DetectSize            int     `toml:"detect_size" env:"VITRINE_DETECT_SIZE" default:"640" usage:"longer side of the frames decoded for detection, in pixels"`
	WindowProposals       int     `toml:"window_proposals" env:"VITRINE_WINDOW_PROPOSALS" default:"3" usage:"class-agnostic proposals added per analysed frame for products the detector has no class for (0 = off)"`
	MatchMinZ             float64 `toml:"match_min_z" env:"VITRINE_MATCH_MIN_Z" default:"2.5" usage:"how far (standard deviations) a track's best product must stand out from its nearest products to match"`
	MatchMinCosine        float64 `toml:"match_min_cosine" env:"VITRINE_MATCH_MIN_COSINE" default:"0.68" usage:"least mean cosine similarity of a track's best product to match (-1 = no floor)"`
	MatchAppearanceSearch bool    `toml:"match_appearance_search" env:"VITRINE_MATCH_APPEARANCE_SEARCH" default:"false" usage:"also search the catalog by appearance (re-ID) vector and score appearance relative to those neighbours: fewer false matches, a few fewer items found"`
	VerifyLocal           bool    `toml:"verify_local" env:"VITRINE_VERIFY_LOCAL" default:"true" usage:"verify matched tracks' largest crops against their first products with local features (XFeat keypoints and a RANSAC homography): a product the keypoints clearly confirm moves first, and the inliers are evidence for the confidence"`
	VerifyTiles           int     `toml:"verify_tiles" env:"VITRINE_VERIFY_TILES" default:"0" usage:"regions local-feature verification describes per XFeat run: 1 (each at the model's 640x640, the default for 0), 2 (320x640 halves) or 4 (320x320 quarters): fewer runs, weaker evidence (changing it extracts the catalog's features again)"`
	GalleryViews          bool    `toml:"gallery_views" env:"VITRINE_GALLERY_VIEWS" default:"true" usage:"also embed and index the upper- and lower-body regions of on-model catalog photos (by product category), as videos crop them from people; applies to images embedded from now on"`
	ProjectionViews       int     `toml:"projection_views" env:"VITRINE_PROJECTION_VIEWS" default:"0" usage:"synthetic views (tilted, folded, mirrored, relit, partly covered) of each catalog image that fit the catalog's learned projection, in which matching then ranks products (0 = off, the default; 6 was measured: refit the confidence calibration with it on)"`
	// GarmentDetector names an opt-in garment detector model (empty: none
	// is ever opened or downloaded). The one vitrine knows,
	// yolov5n-deepfashion2, has AGPL-3.0 weights trained on data licensed
	// for non-commercial research.
	GarmentDetector string `toml:"garment_detector" env:"VITRINE_GARMENT_DETECTOR" default:"" usage:"opt-in garment detector model to run besides the person-derived garment regions, e.g. yolov5n-deepfashion2 (AGPL-3.0 weights, non-commercial training data; empty = none)"`
	// The publish decision (internal/confidence).
	ConfidenceModel     string  `toml:"confidence_model" env:"VITRINE_CONFIDENCE_MODEL" default:"" usage:"calibration file of item confidences written by 'vitrine bench calibrate' (empty = the one vitrine ships)"`
	LiveConfidenceModel string  `toml:"live_confidence_model" env:"VITRINE_LIVE_CONFIDENCE_MODEL" default:"" usage:"calibration file of live streams' item confidences written by 'vitrine bench calibrate --live' (empty = the one vitrine ships)"`
	PublishThreshold    float64 `toml:"publish_threshold" env:"VITRINE_PUBLISH_THRESHOLD" default:"0" usage:"least confidence at which an item is shown to viewers without a reviewer (0 = the calibration's, chosen for published-item precision 0.95)"`
	ReviewThreshold     float64 `toml:"review_threshold" env:"VITRINE_REVIEW_THRESHOLD" default:"0" usage:"least confidence at which an item waits for review; below it the track is not an item (0 = the calibration's)"`
	MaxHotspots         int     `toml:"max_hotspots" env:"VITRINE_MAX_HOTSPOTS" default:"3" usage:"most published items on screen at once; the least confident of more wait for review (0 = no cap)"`

	// Rate limits in requests per second (0 = off); bursts are four
	// seconds' worth.
	RatePublicIP  float64 `toml:"rate_public_ip" env:"VITRINE_RATE_PUBLIC_IP" default:"50" usage:"requests per second per client IP on the public read path (/public/v1), 0 = unlimited"`
	RatePublicKey float64 `toml:"rate_public_key" env:"VITRINE_RATE_PUBLIC_KEY" default:"1000" usage:"requests per second per publishable key on the public read path, 0 = unlimited"`
	RateAPIKey    float64 `toml:"rate_api_key" env:"VITRINE_RATE_API_KEY" default:"200" usage:"requests per second per API key on keyed routes, 0 = unlimited"`

	// Limits of the external media tools and of accepted videos.
	FFmpegTimeout    time.Duration `toml:"ffmpeg_timeout" env:"VITRINE_FFMPEG_TIMEOUT" default:"30m" usage:"time limit of one ffmpeg run"`
	FFprobeTimeout   time.Duration `toml:"ffprobe_timeout" env:"VITRINE_FFPROBE_TIMEOUT" default:"30s" usage:"time limit of one ffprobe run"`
	FFmpegMaxMemory  int64         `toml:"ffmpeg_max_memory" env:"VITRINE_FFMPEG_MAX_MEMORY" default:"3221225472" usage:"address-space limit of each ffmpeg/ffprobe run in bytes (-1 = none)"`
	MaxVideoPixels   int64         `toml:"max_video_pixels" env:"VITRINE_MAX_VIDEO_PIXELS" default:"67108864" usage:"largest accepted video frame (width*height)"`
	MaxVideoDuration time.Duration `toml:"max_video_duration" env:"VITRINE_MAX_VIDEO_DURATION" default:"6h" usage:"longest accepted video"`

	// Catalog feeds vitrine serve keeps the catalog in sync with.
	CatalogFeeds        string        `toml:"catalog_feeds" env:"VITRINE_CATALOG_FEEDS" usage:"shop feeds (URLs or files, separated by spaces or commas) that serve syncs the catalog with (vitrine catalog sync each, at start and every catalog_feed_interval)"`
	CatalogFeedInterval time.Duration `toml:"catalog_feed_interval" env:"VITRINE_CATALOG_FEED_INTERVAL" default:"6h" usage:"how often serve syncs catalog_feeds"`

	// Retention (vitrine storage apply); zero keeps forever.
	RetainWork        time.Duration `toml:"retain_work" env:"VITRINE_RETAIN_WORK" default:"24h" usage:"age after which local working copies of source videos are removed (0 = keep)"`
	RetainBatches     time.Duration `toml:"retain_batches" env:"VITRINE_RETAIN_BATCHES" default:"720h" usage:"age after which stored catalog import batches are removed (0 = keep)"`
	KeepSnapshots     int           `toml:"keep_snapshots" env:"VITRINE_KEEP_SNAPSHOTS" default:"3" usage:"newest vector index snapshots kept (0 = keep all)"`
	RetainOriginals   time.Duration `toml:"retain_originals" env:"VITRINE_RETAIN_ORIGINALS" default:"0" usage:"age after which original videos are removed or archived (0 = keep; without them vitrine cannot play or re-analyse a video)"`
	RetentionInterval time.Duration `toml:"retention_interval" env:"VITRINE_RETENTION_INTERVAL" default:"1h" usage:"how often serve applies retention (embedded install; 0 = only by vitrine storage apply)"`
	ArchiveBlob       string        `toml:"archive_blob" env:"VITRINE_ARCHIVE_BLOB" usage:"blob store URL that receives expired originals instead of their deletion"`

	// KEK and KEKFile hold the key-encryption keys of encryption at rest
	// (internal/crypt): base64 32-byte keys, the active one first. With
	// neither set, blobs are stored in the clear.
	KEK     string `toml:"-" env:"VITRINE_KEK" usage:"key-encryption key(s) for encryption at rest: base64 32-byte keys, active first, comma separated"`
	KEKFile string `toml:"kek_file" env:"VITRINE_KEK_FILE" flag:"kek-file" usage:"file with the key-encryption key(s), one base64 key per line, active first (mode 600)"`

	// FetchAllowPrivate lets URL fetches (catalog images, videos by URL)
	// and live sources (HLS, RTMP, SRT) reach private, loopback and
	// link-local addresses.
	FetchAllowPrivate bool `toml:"fetch_allow_private" env:"VITRINE_FETCH_ALLOW_PRIVATE" default:"false" usage:"allow fetching URLs and live sources on private/loopback/link-local addresses"`
}

// field describes one Config field from its tags.
type field struct {
	index                                int
	name, tomlKey, env, flag, def, usage string
}

func fields() []field {
	t := reflect.TypeOf(Config{})
	out := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, field{
			index: i, name: f.Name,
			tomlKey: f.Tag.Get("toml"), env: f.Tag.Get("env"), flag: f.Tag.Get("flag"),
			def: f.Tag.Get("default"), usage: f.Tag.Get("usage"),
		})
	}
	return out
}

// Loader collects the config flags of one FlagSet and, after parsing, builds
// the Config from all sources.
type Loader struct {
	fs    *flag.FlagSet
	flags map[string]*string
}

// Register adds every config flag to fs. Call Load after fs.Parse.
func Register(fs *flag.FlagSet) *Loader {
	l := &Loader{fs: fs, flags: map[string]*string{}}
	for _, f := range fields() {
		if f.flag == "" {
			continue
		}
		usage := f.usage
		if f.def != "" {
			usage += " (default " + f.def + ")"
		}
		l.flags[f.flag] = fs.String(f.flag, "", usage)
	}
	return l
}

// Load builds the configuration from the parsed flags, the environment
// (looked up with getenv; nil means os.LookupEnv), the config file and the
// defaults, then checks it.
func (l *Loader) Load(getenv func(string) (string, bool)) (*Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	set := map[string]bool{}
	if l.fs != nil {
		l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	}
	c := &Config{}
	v := reflect.ValueOf(c).Elem()
	fs := fields()

	// Defaults first, each later source overwriting.
	for _, f := range fs {
		if f.def != "" {
			if err := setField(v.Field(f.index), f.def); err != nil {
				return nil, fmt.Errorf("config: default of %s: %w", f.name, err)
			}
		}
	}

	// The config file's own location comes from flag or env only.
	file := ""
	if p, ok := l.flags["config"]; ok && set["config"] {
		file = *p
	} else if e, ok := getenv("VITRINE_CONFIG"); ok {
		file = e
	}
	if file != "" {
		if err := loadFile(c, file, fs, getenv); err != nil {
			return nil, err
		}
		c.ConfigFile = file
	}

	for _, f := range fs {
		if f.env == "" || f.name == "ConfigFile" {
			continue
		}
		if s, ok := getenv(f.env); ok && s != "" {
			if err := setField(v.Field(f.index), s); err != nil {
				return nil, fmt.Errorf("config: %s=%q: %w", f.env, s, err)
			}
		}
	}
	for _, f := range fs {
		if f.flag == "" || !set[f.flag] || f.name == "ConfigFile" {
			continue
		}
		s := *l.flags[f.flag]
		if err := setField(v.Field(f.index), s); err != nil {
			return nil, fmt.Errorf("config: flag --%s=%q: %w", f.flag, s, err)
		}
	}
	if err := c.resolve(); err != nil {
		return nil, err
	}
	return c, nil
}

// Load is a shortcut for a Loader without flags: env, file and defaults.
func Load(getenv func(string) (string, bool)) (*Config, error) {
	return (&Loader{flags: map[string]*string{}}).Load(getenv)
}

func loadFile(c *Config, file string, fs []field, getenv func(string) (string, bool)) error {
	raw := map[string]any{}
	if _, err := toml.DecodeFile(file, &raw); err != nil {
		return fmt.Errorf("config: read %s: %w", file, err)
	}
	byKey := map[string]field{}
	for _, f := range fs {
		if f.tomlKey != "" && f.tomlKey != "-" {
			byKey[f.tomlKey] = f
		}
	}
	v := reflect.ValueOf(c).Elem()
	for k, val := range raw {
		f, ok := byKey[k]
		if !ok {
			return fmt.Errorf("config: %s: unknown setting %q", file, k)
		}
		var s string
		switch x := val.(type) {
		case string:
			// ${VAR} in string values is expanded so secrets can stay in the environment.
			s = os.Expand(x, func(name string) string { e, _ := getenv(name); return e })
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			s = strconv.FormatBool(x)
		default:
			return fmt.Errorf("config: %s: setting %q has unsupported type %T", file, k, val)
		}
		if err := setField(v.Field(f.index), s); err != nil {
			return fmt.Errorf("config: %s: %s = %q: %w", file, k, s, err)
		}
	}
	return nil
}

func setField(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration (like 30s or 5m)")
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

// resolve fills in derived defaults and checks values.
func (c *Config) resolve() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is empty"))
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "vitrine.db")
	}
	if c.Blob == "" {
		c.Blob = filepath.Join(c.DataDir, "blobs")
	}
	if c.ModelsDir == "" {
		c.ModelsDir = DefaultModelsDir(c.DataDir)
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q is not host:port", c.Addr))
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("addr %q has a bad port", c.Addr))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers must be >= 0, got %d", c.Workers))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q is not one of debug, info, warn, error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q is not text or json", c.LogFormat))
	}
	if c.MaxUploadBytes <= 0 {
		errs = append(errs, fmt.Errorf("max upload bytes must be > 0"))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max attempts must be >= 1, got %d", c.MaxAttempts))
	}
	if c.RetryBase <= 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, fmt.Errorf("retry base %s and max %s must be positive with base <= max", c.RetryBase, c.RetryMax))
	}
	if c.FFmpegTimeout <= 0 || c.FFprobeTimeout <= 0 || c.MaxVideoPixels <= 0 || c.MaxVideoDuration <= 0 || c.FFmpegMaxMemory == 0 || c.FFmpegMaxMemory < -1 {
		errs = append(errs, fmt.Errorf("media limits must be positive (ffmpeg max memory: bytes or -1 for none)"))
	}
	if c.CatalogFeedInterval < time.Minute && c.CatalogFeeds != "" {
		errs = append(errs, fmt.Errorf("catalog feed interval %v is under a minute", c.CatalogFeedInterval))
	}
	if c.RetainWork < 0 || c.RetentionInterval < 0 || c.RetainBatches < 0 || c.RetainOriginals < 0 || c.KeepSnapshots < 0 {
		errs = append(errs, fmt.Errorf("retention settings must be >= 0 (0 = keep)"))
	}
	if c.RatePublicIP < 0 || c.RatePublicKey < 0 || c.RateAPIKey < 0 {
		errs = append(errs, fmt.Errorf("rate limits must be >= 0 (0 = unlimited)"))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll interval must be positive"))
	}
	if c.VerifyTiles != 0 && c.VerifyTiles != 1 && c.VerifyTiles != 2 && c.VerifyTiles != 4 {
		errs = append(errs, fmt.Errorf("verify tiles must be 0, 1, 2 or 4, got %d", c.VerifyTiles))
	}
	if !(c.SampleFPS > 0 && c.SampleFPS <= 60) {
		errs = append(errs, fmt.Errorf("sample fps must be in (0, 60], got %v", c.SampleFPS))
	}
	if c.DetectSize < 64 || c.DetectSize > 4096 {
		errs = append(errs, fmt.Errorf("detect size must be in [64, 4096], got %d", c.DetectSize))
	}
	if c.WindowProposals < 0 || c.WindowProposals > 50 {
		errs = append(errs, fmt.Errorf("window proposals must be in [0, 50], got %d", c.WindowProposals))
	}
	if !(c.MatchMinZ > 0 && c.MatchMinZ <= 50) {
		errs = append(errs, fmt.Errorf("match min z must be in (0, 50], got %v", c.MatchMinZ))
	}
	if !(c.MatchMinCosine >= -1 && c.MatchMinCosine <= 1) || c.MatchMinCosine == 0 {
		errs = append(errs, fmt.Errorf("match min cosine must be in [-1, 1] and not 0 (-1 = no floor), got %v", c.MatchMinCosine))
	}
	if c.PublishThreshold < 0 || c.PublishThreshold > 1 || c.ReviewThreshold < 0 || c.ReviewThreshold > 1 {
		errs = append(errs, fmt.Errorf("publish and review thresholds must be in [0, 1], got %v and %v", c.PublishThreshold, c.ReviewThreshold))
	} else if c.PublishThreshold > 0 && c.ReviewThreshold > c.PublishThreshold {
		errs = append(errs, fmt.Errorf("review threshold %v is above the publish threshold %v", c.ReviewThreshold, c.PublishThreshold))
	}
	if c.MaxHotspots < 0 || c.MaxHotspots > 100 {
		errs = append(errs, fmt.Errorf("max hotspots must be in [0, 100], got %d", c.MaxHotspots))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// DefaultModelsDir is ../shared/models when it exists (a development checkout),
// else <dataDir>/models.
func DefaultModelsDir(dataDir string) string {
	shared := filepath.Join("..", "shared", "models")
	if st, err := os.Stat(shared); err == nil && st.IsDir() {
		return shared
	}
	return filepath.Join(dataDir, "models")
}

// Feeds returns the catalog feeds of CatalogFeeds.
func (c *Config) Feeds() []string {
	return strings.FieldsFunc(c.CatalogFeeds, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

// LockFile is the path of the data directory's lock file.
func (c *Config) LockFile() string { return filepath.Join(c.DataDir, "vitrine.lock") }

// Usage describes every setting with its env var, flag and default, for --help
// and the README.
func Usage() string {
	var b strings.Builder
	for _, f := range fields() {
		fl := ""
		if f.flag != "" {
			fl = "--" + f.flag
		}
		fmt.Fprintf(&b, "  %-28s %-20s %s", f.env, fl, f.usage)
		if f.def != "" {
			fmt.Fprintf(&b, " (default %s)", f.def)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
