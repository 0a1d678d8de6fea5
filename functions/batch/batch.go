// Package batch is the batch-scoring function: an object lands under the
// input prefix, and the same rows plus prediction columns are written under
// the output prefix, in constant memory whatever the file's size.
//
//	input/2026/11/day.csv   →  output/2026/11/day.csv
//	                           errors/2026/11/day.csv.errors.jsonl (only if rows failed)
//
// CSV (header first) and JSON Lines are read, gzip-compressed or not
// (.csv, .csv.gz, .jsonl, .ndjson, .jsonl.gz). A row that fails validation
// goes to the errors object with its line number and the reason, and the
// good rows are still scored. The output appears whole or not at all (the
// write is aborted on any failure), and a re-run of the same input
// overwrites the same keys: the output, the errors object and the
// prediction-log objects, whose keys and record ids derive from the input.
package batch

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
)

// Scorer scores objects of one bucket with one model.
type Scorer struct {
	Model  runtime.Model
	Schema *runtime.Schema
	Bucket *blob.Bucket // input, output and errors live here

	InputPrefix, OutputPrefix, ErrorsPrefix string
	ChunkRows                               int

	// Log receives a record per scored row that LogSample keeps (nil: not
	// logged). LogPrefix is the model version's partition root
	// (predlog.Prefix).
	LogBucket *blob.Bucket
	LogPrefix string
	LogSample predlog.Sample
	Encoder   *predlog.Encoder

	Logger *slog.Logger
	// Progress, if set, is called after each chunk with the rows read so far.
	Progress func(rows int64)
}

// Result says what a run did.
type Result struct {
	Input   string `json:"input"`
	Output  string `json:"output"`
	Errors  string `json:"errors,omitempty"` // key of the errors object, if any row failed
	Rows    int64  `json:"rows"`             // data rows read
	Scored  int64  `json:"scored"`
	Failed  int64  `json:"failed"`
	LogKeys int    `json:"log_objects"`
}

// logPartRows bounds the records per prediction-log object a batch writes.
const logPartRows = 50000

// ErrNotInput is returned for an object outside the input prefix (an
// event for another prefix, or a key trying to climb out of it).
var ErrNotInput = errors.New("not a batch input object")

// ErrBadInput is returned for an object that cannot be scored at all: an
// unknown format, not gzip, a header without the model's features.
var ErrBadInput = errors.New("unusable batch input")

// ErrGone is returned for an input that no longer exists (deleted since
// its event was sent): there is nothing to score and nothing to retry.
var ErrGone = errors.New("batch input no longer exists")

// Permanent reports whether retrying the object cannot help, so the cloud
// adapter should acknowledge the event (after logging) rather than have it
// delivered again.
func Permanent(err error) bool {
	return errors.Is(err, ErrNotInput) || errors.Is(err, ErrBadInput) || errors.Is(err, ErrGone)
}

// Score scores one object. key is the object's full key in the bucket.
func (s *Scorer) Score(ctx context.Context, key string) (Result, error) {
	res := Result{Input: key}
	rel, err := s.relative(key)
	if err != nil {
		return res, err
	}
	format, compressed, err := formatOf(rel)
	if err != nil {
		return res, fmt.Errorf("batch %s: %w: %v", key, ErrBadInput, err)
	}
	attrs, err := s.Bucket.Attributes(ctx, key)
	if isNotFound(err) {
		return res, fmt.Errorf("batch %s: %w", key, ErrGone)
	}
	if err != nil {
		return res, fmt.Errorf("batch %s: %w", key, err)
	}
	outKey, _ := s.OutputKey(key)
	errKey := s.ErrorsPrefix + rel + ".errors.jsonl"

	// Everything written under ctx is aborted, not committed, if the run
	// fails: cancel before Close.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	r, err := s.Bucket.NewReader(ctx, key, nil)
	if err != nil {
		return res, fmt.Errorf("batch %s: %w", key, err)
	}
	defer r.Close()
	out, err := s.Bucket.NewWriter(ctx, outKey, &blob.WriterOptions{ContentType: contentType(format)})
	if err != nil {
		return res, fmt.Errorf("batch %s: %w", outKey, err)
	}
	var errW *blob.Writer
	openErrors := func() (io.Writer, error) {
		errW, err = s.Bucket.NewWriter(ctx, errKey, &blob.WriterOptions{ContentType: "application/x-ndjson"})
		return errW, err
	}
	abort := func(err error) (Result, error) {
		cancel() // both writers are abandoned, not committed
		out.Close()
		if errW != nil {
			errW.Close()
		}
		return res, fmt.Errorf("batch %s: %w", key, err)
	}
	seed := key + "\x00" + attrs.ETag + "\x00" + attrs.ModTime.UTC().Format(time.RFC3339Nano)
	res, err = s.stream(ctx, r, format, compressed, out, openErrors, seed, attrs.ModTime)
	res.Input, res.Output = key, outKey
	if err != nil {
		return abort(err)
	}
	if errW == nil {
		// No row failed: remove what an earlier run of this input left.
		if err := s.Bucket.Delete(ctx, errKey); err != nil && !isNotFound(err) {
			return abort(fmt.Errorf("%s: %w", errKey, err))
		}
	} else {
		res.Errors = errKey
		// Errors first: once the output is visible, its errors object is too.
		if err := errW.Close(); err != nil {
			errW = nil
			return abort(fmt.Errorf("%s: %w", errKey, err))
		}
	}
	if err := out.Close(); err != nil {
		return res, fmt.Errorf("batch %s: %w", outKey, err)
	}
	s.logger().Info("batch scored", "input", key, "output", outKey, "rows", res.Rows, "scored", res.Scored, "failed", res.Failed)
	return res, nil
}

// Stream scores a file that is not in a bucket (`modelfn predict`): rows
// from in, in format "csv" or "jsonl", to out; rejected rows go to the
// writer openErrors returns, called at the first bad row. Nothing is
// logged.
func (s *Scorer) Stream(ctx context.Context, in io.Reader, format string, out io.Writer, openErrors func() (io.Writer, error)) (Result, error) {
	c := *s
	c.LogBucket = nil
	return c.stream(ctx, in, format, false, out, openErrors, "", time.Now())
}

func (s *Scorer) stream(ctx context.Context, in io.Reader, format string, compressed bool, out io.Writer, openErrors func() (io.Writer, error), seed string, when time.Time) (Result, error) {
	var res Result
	in = bufio.NewReaderSize(in, 1<<20)
	if compressed {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return res, fmt.Errorf("%w: not gzip: %v", ErrBadInput, err)
		}
		in = zr
	}
	// A small buffer, for the header: a chunk's rows (hundreds of KB) go
	// to out as they are. Copied into a 1 MB buffer and written from it, a
	// 10M-row file cost 3-4 s more of kernel time on the benchmark's host.
	run := &run{s: s, res: &res, openErrors: openErrors, seed: seed, when: when, out: bufio.NewWriterSize(out, 64<<10)}
	err := run.stream(ctx, in, format)
	return res, err
}

// OutputKey is where the output of an input key goes.
func (s *Scorer) OutputKey(key string) (string, error) {
	rel, err := s.relative(key)
	if err != nil {
		return "", err
	}
	return s.OutputPrefix + strings.TrimSuffix(rel, ".gz"), nil
}

// UpToDate reports whether key's output exists and is no older than the
// input's modification time.
func (s *Scorer) UpToDate(ctx context.Context, key string, inputMod time.Time) bool {
	out, err := s.OutputKey(key)
	if err != nil {
		return true // never scored: not an input
	}
	a, err := s.Bucket.Attributes(ctx, out)
	return err == nil && !a.ModTime.Before(inputMod)
}

// relative checks that key is under the input prefix and is a plain
// relative path, so the output and errors keys stay under theirs.
func (s *Scorer) relative(key string) (string, error) {
	if !strings.HasPrefix(key, s.InputPrefix) {
		return "", fmt.Errorf("%w: %q is not under %q", ErrNotInput, key, s.InputPrefix)
	}
	rel := strings.TrimPrefix(key, s.InputPrefix)
	if rel == "" || strings.HasSuffix(rel, "/") || strings.HasPrefix(rel, "/") || strings.Contains(rel, "\\") ||
		path.Clean(rel) != rel || strings.HasPrefix(rel, "../") || rel == ".." || strings.ContainsRune(rel, 0) {
		return "", fmt.Errorf("%w: %q is not a plain object key", ErrNotInput, key)
	}
	return rel, nil
}

func formatOf(rel string) (format string, compressed bool, err error) {
	name := strings.ToLower(rel)
	if strings.HasSuffix(name, ".gz") {
		compressed = true
		name = strings.TrimSuffix(name, ".gz")
	}
	switch {
	case strings.HasSuffix(name, ".csv"):
		return "csv", compressed, nil
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"):
		return "jsonl", compressed, nil
	}
	return "", false, fmt.Errorf("unknown format: name the object .csv, .jsonl or .ndjson (optionally .gz)")
}

func contentType(format string) string {
	if format == "csv" {
		return "text/csv"
	}
	return "application/x-ndjson"
}

func (s *Scorer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// logKey names the n-th prediction-log object of an input: fixed by the
// input's key, ETag and time, so a re-run overwrites it.
func logKey(prefix string, when time.Time, seed string, part int) string {
	h := sha256.Sum256([]byte(seed))
	return fmt.Sprintf("%sbatch-%s-%04d.jsonl.gz", predlog.Partition(prefix, when), hex.EncodeToString(h[:8]), part)
}

func isNotFound(err error) bool { return gcerrors.Code(err) == gcerrors.NotFound }
