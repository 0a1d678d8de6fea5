// Package bundle reads and writes model bundles: a folder holding
// modelfn.yaml, the model file and the reference profile, each file checked
// against the sha256 the YAML records.
package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/modelfn/modelfn/runtime"
)

// FileName is the bundle's manifest.
const FileName = "modelfn.yaml"

// Config is modelfn.yaml.
type Config struct {
	Name    string       `yaml:"name"`
	Version string       `yaml:"version"`
	Task    runtime.Task `yaml:"task"`
	// Classes names a classifier's outputs in the model's output order.
	Classes []string `yaml:"classes,omitempty"`
	Model   File     `yaml:"model"`
	// Target is the label column of the reference data, if it had one.
	Target   string            `yaml:"target,omitempty"`
	Features []runtime.Feature `yaml:"features"`
	// Strict refuses out-of-range numbers and unseen categories at predict
	// time instead of scoring them and counting them as data-quality issues.
	Strict     bool       `yaml:"strict,omitempty"`
	Reference  File       `yaml:"reference"`
	Limits     Limits     `yaml:"limits"`
	Log        Log        `yaml:"prediction_log"`
	Batch      Batch      `yaml:"batch"`
	Monitoring Monitoring `yaml:"monitoring"`
	Clouds     Clouds     `yaml:"clouds"`
}

// File is a bundle file with its format and checksum.
type File struct {
	Path   string `yaml:"file"`
	Format string `yaml:"format,omitempty"`
	SHA256 string `yaml:"sha256"`
}

// Limits bound what one predict request may ask.
type Limits struct {
	MaxRows      int   `yaml:"max_rows"`
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Log configures the prediction log.
type Log struct {
	Disabled bool   `yaml:"disabled,omitempty"`
	Prefix   string `yaml:"prefix"`
	// A buffer is written out when it holds FlushRecords records or its
	// oldest record is FlushInterval old, whichever comes first; at most
	// MaxBuffered records wait (beyond that new records are dropped and
	// counted, so a dead store cannot exhaust memory).
	FlushRecords  int           `yaml:"flush_records"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	MaxBuffered   int           `yaml:"max_buffered"`
	// SampleRate is the share of predictions logged, in (0, 1]; all of
	// them when unset (Rate). A pointer, so that an explicit 0 is refused
	// rather than read as unset.
	SampleRate *float64 `yaml:"sample_rate,omitempty"`
}

// Rate is the share of predictions logged.
func (l Log) Rate() float64 {
	if l.SampleRate == nil {
		return 1
	}
	return *l.SampleRate
}

// Batch names the prefixes of the batch bucket.
type Batch struct {
	InputPrefix  string `yaml:"input_prefix"`
	OutputPrefix string `yaml:"output_prefix"`
	ErrorsPrefix string `yaml:"errors_prefix"`
	// ChunkRows is how many rows are scored at a time. A batch holds
	// three chunks per core in memory: the example's 1,024-row chunks
	// took under half the memory of 4,096-row ones and scored as fast.
	ChunkRows int `yaml:"chunk_rows"`
}

// Monitoring configures the monitor function.
type Monitoring struct {
	// Interval is how often the monitor runs; Window how much recent
	// traffic it compares with the reference.
	Interval time.Duration `yaml:"interval"`
	Window   time.Duration `yaml:"window"`
	// MinRows is the smallest window the monitor judges; below it the run
	// reports "not enough data" instead of a verdict.
	MinRows int `yaml:"min_rows"`
	// Method forces a drift method for every column ("auto" chooses per
	// column as Evidently does); Threshold overrides the method's default.
	Method     string                `yaml:"method"`
	Threshold  float64               `yaml:"threshold,omitempty"`
	Columns    map[string]ColumnRule `yaml:"columns,omitempty"`
	DriftShare float64               `yaml:"drift_share"`
	Quality    QualityThresholds     `yaml:"data_quality"`
	Perf       PerformanceMonitor    `yaml:"performance"`
}

// ColumnRule overrides the drift method or threshold of one column.
type ColumnRule struct {
	Method    string  `yaml:"method,omitempty"`
	Threshold float64 `yaml:"threshold,omitempty"`
}

// QualityThresholds are the shares above which a data-quality alarm fires.
type QualityThresholds struct {
	MissingShare        float64 `yaml:"missing_share"`
	OutOfRangeShare     float64 `yaml:"out_of_range_share"`
	UnseenCategoryShare float64 `yaml:"unseen_category_share"`
}

// PerformanceMonitor configures the label join.
type PerformanceMonitor struct {
	LabelsPrefix string `yaml:"labels_prefix"`
	// Drop is the relative fall of the primary metric (ROC AUC or accuracy,
	// R² for regression) against the reference that raises an alarm.
	Drop float64 `yaml:"drop"`
	// Reference values of the metrics, measured at init on the reference
	// data when it had a target.
	Reference map[string]float64 `yaml:"reference,omitempty"`
}

// Clouds holds per-cloud deployment settings.
type Clouds struct {
	AWS   AWS   `yaml:"aws"`
	GCP   GCP   `yaml:"gcp"`
	Azure Azure `yaml:"azure"`
}

// Common settings every cloud has.
type Common struct {
	MemoryMB       int    `yaml:"memory_mb,omitempty"`
	TimeoutSeconds int    `yaml:"timeout_seconds,omitempty"`
	Public         bool   `yaml:"public,omitempty"` // an unauthenticated predict endpoint: opt in only
	AlarmEmail     string `yaml:"alarm_email,omitempty"`
	LogRetention   int    `yaml:"log_retention_days,omitempty"`
}

type AWS struct {
	Common `yaml:",inline"`
	Region string `yaml:"region,omitempty"`
	// StateBucket turns on Terraform's S3 backend; local state otherwise.
	StateBucket string `yaml:"state_bucket,omitempty"`
}

type GCP struct {
	Common  `yaml:",inline"`
	Project string `yaml:"project,omitempty"`
	Region  string `yaml:"region,omitempty"`
}

type Azure struct {
	Common       `yaml:",inline"`
	Subscription string `yaml:"subscription_id,omitempty"`
	Location     string `yaml:"location,omitempty"`
}

// Defaults fills every unset setting.
func (c *Config) Defaults() {
	setInt(&c.Limits.MaxRows, 10000)
	if c.Limits.MaxBodyBytes == 0 {
		c.Limits.MaxBodyBytes = 6 << 20 // Lambda's synchronous payload limit, the smallest of the three clouds
	}
	setStr(&c.Log.Prefix, "predictions/")
	setInt(&c.Log.FlushRecords, 10000)
	if c.Log.FlushInterval == 0 {
		c.Log.FlushInterval = 5 * time.Second
	}
	setInt(&c.Log.MaxBuffered, 100000)
	setStr(&c.Batch.InputPrefix, "input/")
	setStr(&c.Batch.OutputPrefix, "output/")
	setStr(&c.Batch.ErrorsPrefix, "errors/")
	setInt(&c.Batch.ChunkRows, 1024)
	m := &c.Monitoring
	if m.Interval == 0 {
		m.Interval = time.Hour
	}
	if m.Window == 0 {
		m.Window = 24 * time.Hour
	}
	setInt(&m.MinRows, 30)
	setStr(&m.Method, "auto")
	if m.DriftShare == 0 {
		m.DriftShare = 0.5
	}
	setF(&m.Quality.MissingShare, 0.05)
	setF(&m.Quality.OutOfRangeShare, 0.05)
	setF(&m.Quality.UnseenCategoryShare, 0.05)
	setStr(&m.Perf.LabelsPrefix, "labels/")
	setF(&m.Perf.Drop, 0.1)
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$`)

// Validate checks the settings, naming the bad one.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !nameRE.MatchString(c.Name) {
		// The name becomes bucket, function and metric names in three clouds.
		bad("name", "%q must be 2-40 lowercase letters, digits or dashes, starting and ending with a letter or digit", c.Name)
	}
	if c.Version == "" || strings.ContainsAny(c.Version, "/\\ \t") {
		bad("version", "%q must be non-empty with no slashes or spaces", c.Version)
	}
	if c.Task != runtime.Classification && c.Task != runtime.Regression {
		bad("task", "%q is not classification or regression", c.Task)
	}
	if c.Model.Path == "" || c.Model.Format == "" {
		bad("model", "file and format are required")
	}
	for _, f := range []*File{&c.Model, &c.Reference} {
		if f.Path != "" && (filepath.IsAbs(f.Path) || strings.Contains(filepath.ToSlash(f.Path), "..")) {
			bad("file", "%q must be a path inside the bundle", f.Path)
		}
	}
	if _, err := runtime.NewSchema(c.Features, c.Strict); err != nil {
		bad("features", "%v", err)
	}
	if c.Limits.MaxRows < 1 || c.Limits.MaxBodyBytes < 1024 {
		bad("limits", "max_rows must be ≥ 1 and max_body_bytes ≥ 1024")
	}
	if c.Monitoring.Window < c.Monitoring.Interval {
		bad("monitoring.window", "%v is shorter than the interval %v", c.Monitoring.Window, c.Monitoring.Interval)
	}
	if c.Monitoring.Interval < time.Minute {
		bad("monitoring.interval", "%v is shorter than a minute, the clouds' smallest schedule", c.Monitoring.Interval)
	}
	if r := c.Log.SampleRate; r != nil && !(*r > 0 && *r <= 1) {
		bad("prediction_log.sample_rate", "%v must be in (0, 1]; to log nothing, set prediction_log.disabled: true", *r)
	}
	if s := c.Monitoring.DriftShare; s <= 0 || s > 1 {
		bad("monitoring.drift_share", "%v must be in (0, 1]", s)
	}
	for _, p := range []string{c.Log.Prefix, c.Batch.InputPrefix, c.Batch.OutputPrefix, c.Batch.ErrorsPrefix, c.Monitoring.Perf.LabelsPrefix} {
		if !strings.HasSuffix(p, "/") || strings.HasPrefix(p, "/") || strings.Contains(p, "..") {
			bad("prefix", "%q must be relative and end with /", p)
		}
	}
	return errors.Join(errs...)
}

// Bundle is a loaded bundle folder.
type Bundle struct {
	Dir    string
	Config Config
	Schema *runtime.Schema
}

// Load reads dir/modelfn.yaml, fills defaults and validates it. Files are
// checked when read (Model, ReadFile).
func Load(dir string) (*Bundle, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt setting is an error, not a silent default
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("bundle %s: %s: %w", dir, FileName, err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("bundle %s: %s: %w", dir, FileName, err)
	}
	s, _ := runtime.NewSchema(c.Features, c.Strict) // validated above
	return &Bundle{Dir: dir, Config: c, Schema: s}, nil
}

// ReadFile reads a bundle file and checks its sha256.
func (b *Bundle) ReadFile(f File) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(b.Dir, f.Path))
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", b.Config.Name, err)
	}
	if got := Sum(data); got != f.SHA256 {
		return nil, fmt.Errorf("bundle %q: %s: sha256 mismatch: file has %s, %s records %s", b.Config.Name, f.Path, got, FileName, f.SHA256)
	}
	return data, nil
}

// Model loads the bundle's model through the format registry.
func (b *Bundle) Model() (runtime.Model, error) {
	data, err := b.ReadFile(b.Config.Model)
	if err != nil {
		return nil, err
	}
	m, err := runtime.Open(b.Config.Model.Format, data, runtime.Spec{Schema: b.Schema, Task: b.Config.Task, Classes: b.Config.Classes})
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %s: %w", b.Config.Name, b.Config.Model.Path, err)
	}
	return m, nil
}

// Save writes modelfn.yaml.
func (b *Bundle) Save() error {
	var buf bytes.Buffer
	buf.WriteString("# modelfn bundle: written by `modelfn init`, safe to edit (sha256 lines must match the files).\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&b.Config); err != nil {
		return fmt.Errorf("bundle %q: %w", b.Config.Name, err)
	}
	return os.WriteFile(filepath.Join(b.Dir, FileName), buf.Bytes(), 0o644)
}

// Sum is the hex sha256 the manifest records.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setF(p *float64, v float64) {
	if *p == 0 {
		*p = v
	}
}
