package predlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob"

	"github.com/modelfn/modelfn/runtime"
)

// Options tune a Logger.
type Options struct {
	// Prefix is the model version's partition root, from Prefix().
	Prefix string
	// A buffer is written when it holds FlushRecords records or its oldest
	// record is FlushInterval old. At most MaxBuffered records wait in
	// memory (including chunks waiting for a retry); beyond that, records
	// are dropped and counted rather than exhausting memory.
	FlushRecords  int
	FlushInterval time.Duration
	MaxBuffered   int
	// Sample is the share of predictions logged (all when unset).
	Sample Sample
	Log    *slog.Logger
}

// Stats count what happened to logged records.
type Stats struct {
	Logged      int64 `json:"logged"`       // accepted into the buffer
	NotSampled  int64 `json:"not_sampled"`  // left out by the sample rate
	Written     int64 `json:"written"`      // in objects the store acknowledged
	Dropped     int64 `json:"dropped"`      // refused because the buffer was full
	Buffered    int64 `json:"buffered"`     // waiting in memory now
	Objects     int64 `json:"objects"`      // objects written
	WriteErrors int64 `json:"write_errors"` // failed writes (each retried)
}

// Logger buffers records and writes them as gzip JSON Lines objects. A
// failed write never fails the prediction: the chunk stays queued and is
// retried with backoff, and the failure is counted and logged.
//
// At most the buffered records are lost if the process dies: FlushRecords
// records or FlushInterval of traffic, whichever comes first, plus chunks
// still waiting for a retry when the store is unreachable.
type Logger struct {
	bucket *blob.Bucket
	enc    *Encoder
	opt    Options

	mu     sync.Mutex
	cur    *chunk
	queue  []*chunk
	queued int // records in cur and queue
	// Written chunks' memory, for new chunks: two, as a chunk is usually
	// begun while the one before is still being written.
	free []LineStream
	rec  Record // reused, so its cached text carries over between calls
	wmu  sync.Mutex

	logged, notSampled, written, dropped, objects, writeErrors atomic.Int64

	stop chan struct{}
	wake chan struct{}
	done chan struct{}
	once sync.Once
}

// A chunk is the records of one object, gzipped as they come: each
// request compresses its own records (LineStream.Compress), so the cost is
// spread evenly over requests, where one compressing a whole chunk held
// up every request waiting on the same core, and the records wait in
// memory compressed, about 6 times smaller.
type chunk struct {
	gz    LineStream // one gzip member
	n     int
	first time.Time
	key   string // fixed at the first attempt, so a retry overwrites it
}

// NewLogger starts a logger writing into bucket.
func NewLogger(bucket *blob.Bucket, enc *Encoder, opt Options) *Logger {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	l := &Logger{bucket: bucket, enc: enc, opt: opt, stop: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{})}
	go l.run()
	return l
}

// Log records the predictions for rows [0, b.Rows) of a batch, those the
// sample rate keeps; ids is the rows' ids as AppendIDs writes them, read
// in place (a copy of them was a logged request's only garbage). outText,
// when not nil, is out's k values a row as the caller's answer wrote them,
// each as AppendFloat writes it and followed by a comma: copied, not
// formatted again.
func (l *Logger) Log(source string, ids []byte, b *runtime.Batch, out []float64, outText []byte, k int, latency time.Duration) {
	now := time.Now()
	w := b.Width()
	id := func(i int) []byte { return ids[i*IDLen : (i+1)*IDLen] }
	kept := 0
	for i := range b.Rows {
		if l.opt.Sample.keepText(id(i)) {
			kept++
		}
	}
	if kept < b.Rows {
		l.notSampled.Add(int64(b.Rows - kept))
	}
	if kept == 0 {
		return
	}
	l.mu.Lock()
	if l.queued+kept > l.opt.MaxBuffered {
		l.mu.Unlock()
		rows := int64(kept)
		if n := l.dropped.Add(rows); n == rows || n/10000 != (n-rows)/10000 { // warn at the first drop and every 10,000
			l.opt.Log.Warn("prediction log buffer full: records dropped", "dropped_total", n, "max_buffered", l.opt.MaxBuffered)
		}
		return
	}
	if l.cur == nil {
		l.cur = &chunk{first: now}
		if n := len(l.free); n > 0 {
			l.cur.gz = l.free[n-1]
			l.free = l.free[:n-1]
		}
	}
	rec := &l.rec
	rec.Time, rec.Source, rec.Latency = now, source, latency
	text := outText
	for i := 0; i < b.Rows; i++ {
		var values []byte
		if outText != nil {
			values, text = nextValues(text, k)
		}
		if kept < b.Rows && !l.opt.Sample.keepText(id(i)) {
			continue
		}
		// A view of the id, not a copy: the encoder only appends it, and rec
		// lets go of it below.
		rec.ID = unsafe.String(&ids[i*IDLen], IDLen)
		rec.X, rec.Out, rec.OutText = b.X[i*w:(i+1)*w], out[i*k:(i+1)*k], values
		if b.S != nil {
			rec.S = b.S[i*w : (i+1)*w]
		}
		if b.Text != nil {
			rec.Text = b.Text[i*w : (i+1)*w]
		}
		l.enc.Append(l.cur.gz.Lines(), rec)
	}
	rec.ID, rec.X, rec.S, rec.Text, rec.Out, rec.OutText = "", nil, nil, nil, nil, nil // the caller's memory is not the logger's to keep
	l.cur.gz.Compress(l.enc)
	l.cur.n += kept
	l.queued += kept
	full := l.cur.n >= l.opt.FlushRecords
	if full {
		l.sealLocked()
	}
	l.mu.Unlock()
	l.logged.Add(int64(kept))
	if full {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// nextValues splits a row's k values off text, comma-terminated values:
// them, without the last comma, and the rest.
func nextValues(text []byte, k int) (values, rest []byte) {
	end := 0
	for range k {
		end += bytes.IndexByte(text[end:], ',') + 1
	}
	return text[:max(end-1, 0)], text[end:]
}

// WantsText reports whether a caller should give Log the numbers' text
// (Batch.Text): worth keeping when every row is logged, while for a sample,
// formatting the few rows logged costs less than keeping every row's text.
func (l *Logger) WantsText() bool { return l.opt.Sample.All() }

func (l *Logger) sealLocked() {
	if l.cur != nil && l.cur.n > 0 {
		l.queue = append(l.queue, l.cur)
	}
	l.cur = nil
}

// run writes sealed chunks, seals chunks that are FlushInterval old, and
// retries failed writes with exponential backoff.
func (l *Logger) run() {
	defer close(l.done)
	tick := time.NewTicker(max(l.opt.FlushInterval/4, 10*time.Millisecond))
	defer tick.Stop()
	backoff := time.Duration(0)
	var retry <-chan time.Time
	for {
		select {
		case <-l.stop:
			return
		case <-l.wake:
		case <-tick.C:
			l.mu.Lock()
			if l.cur != nil && time.Since(l.cur.first) >= l.opt.FlushInterval {
				l.sealLocked()
			}
			l.mu.Unlock()
		case <-retry:
			retry = nil
		}
		if retry != nil {
			continue // backing off
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := l.writeQueued(ctx, goruntime.GOMAXPROCS(0) == 1) // see pacedReader
		cancel()
		if err == nil {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 30*time.Second)
		l.opt.Log.Warn("prediction log write failed; will retry", "err", err, "retry_in", backoff, "buffered", l.Stats().Buffered)
		retry = time.After(backoff)
	}
}

// writeQueued writes sealed chunks in order until the queue is empty or a
// write fails (the chunk then stays at the head of the queue); paced, as
// pacedReader hands them over.
func (l *Logger) writeQueued(ctx context.Context, paced bool) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return nil
		}
		c := l.queue[0]
		l.mu.Unlock()

		// One key per chunk: when a write reached the store but its answer
		// was lost, the retry overwrites the object instead of adding a copy.
		if c.key == "" {
			c.key = Partition(l.opt.Prefix, c.first) + NewID() + ".jsonl.gz"
		}
		key := c.key
		member := c.gz.Finish()
		var gz io.Reader = bytes.NewReader(member)
		if paced {
			gz = &pacedReader{b: member}
		}
		if err := upload(ctx, l.bucket, key, gz); err != nil {
			l.writeErrors.Add(1)
			return err
		}
		l.mu.Lock()
		l.queue = l.queue[1:]
		l.queued -= c.n
		if len(l.free) < 2 {
			c.gz.Reset()
			l.free = append(l.free, c.gz)
		}
		l.mu.Unlock()
		l.written.Add(int64(c.n))
		l.objects.Add(1)
		l.opt.Log.Debug("prediction log flushed", "key", key, "records", c.n)
	}
}

// Flush writes everything buffered now, retrying until ctx ends.
func (l *Logger) Flush(ctx context.Context) error {
	l.mu.Lock()
	l.sealLocked()
	l.mu.Unlock()
	backoff := 50 * time.Millisecond
	for {
		err := l.writeQueued(ctx, false) // requests are done or wait for it
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("prediction log: %d records not written: %w", l.Stats().Buffered, errors.Join(err, ctx.Err()))
		case <-time.After(backoff):
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// Close flushes and stops the background writer.
func (l *Logger) Close(ctx context.Context) error {
	err := l.Flush(ctx)
	l.once.Do(func() { close(l.stop) })
	<-l.done
	return err
}

// Stats reports the counters.
func (l *Logger) Stats() Stats {
	l.mu.Lock()
	buffered := l.queued
	l.mu.Unlock()
	return Stats{
		Logged: l.logged.Load(), NotSampled: l.notSampled.Load(), Written: l.written.Load(), Dropped: l.dropped.Load(),
		Buffered: int64(buffered), Objects: l.objects.Load(), WriteErrors: l.writeErrors.Load(),
	}
}

// WriteObject gzips any JSON lines (labels, say) into one object, with a
// general gzip; the logger writes its own records with Encoder.Piece and
// a Stream.
// The object appears whole or not at all: on any error the write is
// aborted.
func WriteObject(ctx context.Context, bucket *blob.Bucket, key string, lines []byte) error {
	return upload(ctx, bucket, key, bytes.NewReader(Compress(nil, lines)))
}

// upload writes gzip data (a member, as Compress or Stream.Finish make
// it) into one object, whole or not at all.
//
// Through Upload rather than WriteAll, which hashes every object twice
// with MD5 (5-6% of a logged request's time on one core) for a
// check the stores make anyway: the S3 and GCS clients send their own
// CRC of the upload, a file is renamed into place only once written, and
// the gzip trailer's CRC covers the records whatever the store.
func upload(ctx context.Context, bucket *blob.Bucket, key string, gz io.Reader) error {
	if err := bucket.Upload(ctx, key, gz, objectOptions); err != nil {
		return fmt.Errorf("prediction log %s: %w", key, err)
	}
	return nil
}

// NewObjectWriter opens a log object to be written as its member is put
// together (Stream.Drain); it is committed by Close, and abandoned if ctx
// is cancelled first.
func NewObjectWriter(ctx context.Context, bucket *blob.Bucket, key string) (*blob.Writer, error) {
	w, err := bucket.NewWriter(ctx, key, objectOptions)
	if err != nil {
		return nil, fmt.Errorf("prediction log %s: %w", key, err)
	}
	return w, nil
}

var objectOptions = &blob.WriterOptions{ContentType: "application/gzip"}

// pacedReader is how the background writer hands a chunk to the store on
// one core (GOMAXPROCS=1). A driver that reads it (S3's and Azure's
// clients) gets it as it is; one that has it write itself (fileblob into
// its file, gocloud's writer for GCS) gets it in pieces with a pause
// between them. A file's writes are system calls that keep the process's
// only P while they run, and Go takes a P back from a system call only at
// a sysmon tick, which on a busy server comes every 10 ms: a chunk written
// at once held every request for its whole write. The pause parks the
// writer, so the requests that arrived meanwhile run between pieces (mixed
// load on one core, p99 2.2 ms to 1.2-1.9 ms; requests/s -2%). On an idle
// process a pause lasts about a millisecond, the poller's resolution,
// which only a background write can afford.
type pacedReader struct{ b []byte }

const (
	pacePiece = 32 << 10
	pacePause = 30 * time.Microsecond
)

func (r *pacedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (r *pacedReader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for len(r.b) > 0 {
		if n > 0 {
			time.Sleep(pacePause)
		}
		m, err := w.Write(r.b[:min(len(r.b), pacePiece)])
		n += int64(m)
		r.b = r.b[m:]
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// Compress appends any lines to dst as one gzip member, with
// klauspost/compress at its fastest level.
func Compress(dst, lines []byte) []byte {
	buf := bytes.NewBuffer(dst)
	buf.Grow(len(lines)/3 + 64) // log records compress about 4:1
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(buf)
	zw.Write(lines) // writes to a bytes.Buffer cannot fail
	zw.Close()
	gzipWriters.Put(zw)
	return buf.Bytes()
}
