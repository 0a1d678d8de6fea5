package predlog_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/modelfn/modelfn/functions/predlog"
	"github.com/modelfn/modelfn/runtime"
	"github.com/modelfn/modelfn/testing/tools"
)

func schema(t testing.TB) (*runtime.Schema, runtime.Info) {
	s, err := runtime.NewSchema([]runtime.Feature{
		{Name: "age", Type: runtime.Numeric, Nullable: true},
		{Name: "plan", Type: runtime.Categorical, Categories: []string{"basic", "pro"}},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	return s, runtime.Info{Task: runtime.Classification, Classes: []string{"stay", "leave"}, Outputs: 2}
}

func rows(t testing.TB, s *runtime.Schema, n int) (*runtime.Batch, []float64, []string) {
	b := runtime.NewBatch(s, n)
	out := make([]float64, 0, 2*n)
	var ids []string
	for i := 0; i < n; i++ {
		r := b.Begin(i)
		if i%3 == 0 {
			r.Missing(0)
		} else {
			r.Number(0, float64(i), "")
		}
		r.String(1, []string{"basic", "pro", "new \"plan\""}[i%3], true)
		if err := r.End(); err != nil {
			t.Fatal(err)
		}
		out = append(out, 0.25, 0.75)
		ids = append(ids, predlog.NewID())
	}
	return b, out, ids
}

// TestRoundTrip writes records and reads them back field for field.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, info := schema(t)
	bucket := memblob.OpenBucket(nil)
	enc := predlog.NewEncoder("churn", "3", s, info)
	l := predlog.NewLogger(bucket, enc, predlog.Options{Prefix: "predictions/churn/3/", FlushRecords: 4, FlushInterval: time.Hour, MaxBuffered: 100})
	b, out, ids := rows(t, s, 10)
	l.Log(predlog.SourceHTTP, idText(ids), b, out, nil, 2, 1500*time.Microsecond)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Logged != 10 || st.Written != 10 || st.Buffered != 0 || st.Objects != 1 {
		t.Fatalf("stats %+v", st)
	}
	keys := tools.Keys(t, bucket, "")
	if len(keys) != 1 || !strings.HasPrefix(keys[0], predlog.Partition("predictions/churn/3/", time.Now())) || !strings.HasSuffix(keys[0], ".jsonl.gz") {
		t.Fatalf("keys %v", keys)
	}
	dec := predlog.NewDecoder(s, info)
	back := runtime.NewBatch(s, 10)
	entries, err := dec.ReadObject(ctx, bucket, keys[0], back, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 10 || back.Rows != 10 {
		t.Fatalf("%d entries, %d rows", len(entries), back.Rows)
	}
	for i, e := range entries {
		if e.ID != ids[i] || e.Source != "http" || e.Out[1] != 0.75 || time.Since(e.Time) > time.Minute {
			t.Fatalf("entry %d: %+v", i, e)
		}
		if got, want := back.Row(i)[0], b.Row(i)[0]; !(got == want || (got != got && want != want)) {
			t.Fatalf("row %d age %v, want %v", i, got, want)
		}
		if back.S[i*2+1] != b.S[i*2+1] {
			t.Fatalf("row %d plan %q, want %q", i, back.S[i*2+1], b.S[i*2+1])
		}
		if tm, ok := predlog.IDTime(e.ID); !ok || time.Since(tm) > time.Minute {
			t.Fatalf("id %s: time %v", e.ID, tm)
		}
	}
}

// TestOutTextCopied: the answer's text of the outputs, given to Log, is
// what the log holds for each row, sampled rows skipped in step, and a
// non-finite output reads back as missing.
func TestOutTextCopied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, info := schema(t)
	b, out, ids := rows(t, s, 200)
	var text []byte
	for i := range b.Rows {
		out[2*i], out[2*i+1] = float64(i)/1000, 1-float64(i)/1000
		if i == 3 {
			out[2*i+1] = math.NaN()
		}
	}
	for _, v := range out {
		text = append(predlog.AppendFloat(text, v), ',')
	}
	bucket := memblob.OpenBucket(nil)
	l := predlog.NewLogger(bucket, predlog.NewEncoder("churn", "3", s, info), predlog.Options{Prefix: "p/", FlushRecords: 1000, FlushInterval: time.Hour, MaxBuffered: 1000, Sample: 0.5})
	l.Log(predlog.SourceHTTP, idText(ids), b, out, text, 2, time.Millisecond)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	row := map[string]int{}
	for i, id := range ids {
		row[id] = i
	}
	keys := tools.Keys(t, bucket, "")
	entries, err := predlog.NewDecoder(s, info).ReadObject(ctx, bucket, keys[0], runtime.NewBatch(s, 200), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 50 || len(entries) > 150 {
		t.Fatalf("%d of 200 rows kept at a rate of 0.5", len(entries))
	}
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	for _, e := range entries {
		i := row[e.ID]
		if want := out[2*i : 2*i+2]; !same(e.Out[0], want[0]) || !same(e.Out[1], want[1]) {
			t.Fatalf("row %d: logged %v, answered %v", i, e.Out, want)
		}
	}
}

// TestLogObjectIsOneMember: a chunk that 30 requests compressed, each its
// own records, is one gzip member (readers that stop after the first
// member read it whole), which reads back whole and in order, with Go's
// reader (as the monitor) and with gzip(1).
func TestLogObjectIsOneMember(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, info := schema(t)
	bucket := memblob.OpenBucket(nil)
	l := predlog.NewLogger(bucket, predlog.NewEncoder("churn", "3", s, info), predlog.Options{Prefix: "p/", FlushRecords: 3000, FlushInterval: time.Hour, MaxBuffered: 10000})
	var want []string
	for range 30 {
		b, out, ids := rows(t, s, 100)
		l.Log(predlog.SourceHTTP, idText(ids), b, out, nil, 2, time.Millisecond)
		want = append(want, ids...)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	keys := tools.Keys(t, bucket, "")
	if len(keys) != 1 {
		t.Fatalf("keys %v", keys)
	}
	obj, err := bucket.ReadAll(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	members := 0
	br := bytes.NewReader(obj) // a ByteReader: gzip reads no further than a member's end
	zr, err := gzip.NewReader(br)
	for err == nil {
		zr.Multistream(false)
		if _, err = io.Copy(io.Discard, zr); err != nil {
			t.Fatal(err)
		}
		members++
		err = zr.Reset(br)
	}
	if err != io.EOF {
		t.Fatalf("after %d members: %v", members, err)
	}
	if members != 1 {
		t.Fatalf("%d gzip members in %d bytes, want one", members, len(obj))
	}
	cmd := exec.Command("gzip", "-dc")
	cmd.Stdin = bytes.NewReader(obj)
	if text, err := cmd.Output(); err != nil || bytes.Count(text, []byte("\n")) != len(want) {
		t.Fatalf("gzip -dc: %v, %d lines, want %d", err, bytes.Count(text, []byte("\n")), len(want))
	}
	entries, err := predlog.NewDecoder(s, info).ReadObject(ctx, bucket, keys[0], runtime.NewBatch(s, len(want)), nil)
	if err != nil || len(entries) != len(want) {
		t.Fatalf("%d entries, want %d: %v", len(entries), len(want), err)
	}
	for i, e := range entries {
		if e.ID != want[i] {
			t.Fatalf("entry %d: id %s, want %s", i, e.ID, want[i])
		}
	}
}

// TestAppendReusedRecord: one Record reused for rows of different times,
// latencies and texts writes each row's own (the time's and latency's text
// is kept in the Record between rows), and the value is formatted where
// there is no text.
func TestAppendReusedRecord(t *testing.T) {
	t.Parallel()
	s, info := schema(t)
	enc := predlog.NewEncoder("m", "1", s, info)
	base := time.Date(2026, 11, 26, 23, 59, 59, 998_000_000, time.UTC)
	cases := []struct {
		at      time.Time
		latency time.Duration
		text    string // as written, or "" to format the value
		ts      string
		lat     float64
		age     string
	}{
		{base, 1500 * time.Microsecond, "12", "2026-11-26T23:59:59.998Z", 1.5, "12"},
		{base.Add(500 * time.Microsecond), 1500 * time.Microsecond, "12.50", "2026-11-26T23:59:59.998Z", 1.5, "12.50"},
		{base.Add(time.Millisecond), 2 * time.Millisecond, "1e3", "2026-11-26T23:59:59.999Z", 2, "1e3"},
		{base.Add(2 * time.Millisecond), 2 * time.Millisecond, "", "2026-11-27T00:00:00.000Z", 2, "5"},
		{base.Add(2 * time.Millisecond), 0, "", "2026-11-27T00:00:00.000Z", 0, "5"},
		{base.Add(-time.Hour), 3 * time.Microsecond, "7", "2026-11-26T22:59:59.998Z", 0.003, "7"},
	}
	var lines predlog.Lines
	var r predlog.Record
	for _, c := range cases {
		r.ID, r.Time, r.Source, r.Latency = "x", c.at, "http", c.latency
		r.X, r.S, r.Text = []float64{5, 0}, []string{"", "pro"}, []string{c.text, ""}
		r.Out = []float64{0.25, 0.75}
		enc.Append(&lines, &r)
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(lines.Bytes()), "\n"), "\n") {
		var got struct {
			TS       string                     `json:"ts"`
			Latency  float64                    `json:"latency_ms"`
			Features map[string]json.RawMessage `json:"features"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		c := cases[i]
		if got.TS != c.ts || got.Latency != c.lat || string(got.Features["age"]) != c.age {
			t.Errorf("line %d: ts %s, latency %v, age %s; want %s, %v, %s", i, got.TS, got.Latency, got.Features["age"], c.ts, c.lat, c.age)
		}
	}
}

// TestAppendOutText: outputs already written as text (a CSV row's) are
// copied into the record as written, each to its class.
func TestAppendOutText(t *testing.T) {
	t.Parallel()
	s, info := schema(t)
	enc := predlog.NewEncoder("m", "1", s, info)
	r := predlog.Record{ID: "x", Time: time.Now(), Source: "batch", X: []float64{5, 0}, S: []string{"", "pro"}, Out: []float64{0.25, 0.75}}
	var formatted, copied predlog.Lines
	enc.Append(&formatted, &r)
	r.OutText = []byte("2.5e-1,0.75")
	enc.Append(&copied, &r)
	want := strings.Replace(string(formatted.Bytes()), ":0.25,", ":2.5e-1,", 1)
	if got := string(copied.Bytes()); got != want || strings.Count(got, "2.5e-1") != 1 {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestSample: a sample rate keeps that share of predictions, chosen by id,
// and the log holds exactly the kept ones.
func TestSample(t *testing.T) {
	t.Parallel()
	const n = 100_000
	kept := 0
	for _, id := range idStrings(predlog.AppendIDs(nil, n, time.Now())) {
		if predlog.Sample(0.1).Keep(id) {
			kept++
		}
	}
	if kept < 9_500 || kept > 10_500 { // 5 standard deviations of a binomial(100,000, 0.1)
		t.Fatalf("rate 0.1 kept %d of %d", kept, n)
	}
	id := predlog.NewID()
	for _, s := range []predlog.Sample{0, 1} {
		if !s.Keep(id) {
			t.Fatalf("Sample(%v) dropped %s", s, id)
		}
	}
	if !predlog.Sample(0.01).Keep("not-a-uuid-at-all") {
		t.Fatal("an id without random bits must be kept, not silently dropped")
	}

	ctx := context.Background()
	s, info := schema(t)
	bucket := memblob.OpenBucket(nil)
	l := predlog.NewLogger(bucket, predlog.NewEncoder("m", "1", s, info), predlog.Options{Prefix: "p/", FlushRecords: 1000, FlushInterval: time.Hour, MaxBuffered: 1000, Sample: 0.25})
	b, out, ids := rows(t, s, 400)
	l.Log(predlog.SourceHTTP, idText(ids), b, out, nil, 2, 0)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		if predlog.Sample(0.25).Keep(id) {
			want[id] = true
		}
	}
	st := l.Stats()
	if st.Logged != int64(len(want)) || st.NotSampled != int64(400-len(want)) || st.Written != st.Logged || len(want) < 50 || len(want) > 150 {
		t.Fatalf("stats %+v for %d kept of 400", st, len(want))
	}
	keys := tools.Keys(t, bucket, "")
	entries, err := predlog.NewDecoder(s, info).ReadObject(ctx, bucket, keys[0], runtime.NewBatch(s, 400), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.ID] {
			t.Fatalf("%s logged but not sampled", e.ID)
		}
		delete(want, e.ID)
	}
	if len(want) > 0 {
		t.Fatalf("%d sampled predictions missing from the log", len(want))
	}
}

// TestFlushByAge writes a buffer once its oldest record is FlushInterval old.
func TestFlushByAge(t *testing.T) {
	t.Parallel()
	s, info := schema(t)
	bucket := memblob.OpenBucket(nil)
	l := predlog.NewLogger(bucket, predlog.NewEncoder("m", "1", s, info), predlog.Options{Prefix: "p/", FlushRecords: 1000, FlushInterval: 50 * time.Millisecond, MaxBuffered: 1000})
	defer l.Close(context.Background())
	b, out, ids := rows(t, s, 3)
	l.Log(predlog.SourceHTTP, idText(ids), b, out, nil, 2, 0)
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Written != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("not flushed by age: %+v", l.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRetryAfterStoreFailure: writes fail while the store is broken, the
// records wait and are written once it is back; nothing is lost or doubled.
func TestRetryAfterStoreFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	os.Mkdir(store, 0o755)
	bucket, err := fileblob.OpenBucket(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, info := schema(t)
	l := predlog.NewLogger(bucket, predlog.NewEncoder("m", "1", s, info), predlog.Options{Prefix: "p/", FlushRecords: 5, FlushInterval: 20 * time.Millisecond, MaxBuffered: 12})
	// Break the store: its folder becomes a file, so no object can be made.
	os.RemoveAll(store)
	os.WriteFile(store, nil, 0o644)
	b, out, ids := rows(t, s, 10)
	l.Log(predlog.SourceHTTP, idText(ids), b, out, nil, 2, 0)
	l.Log(predlog.SourceHTTP, idText(ids), b, out, nil, 2, 0) // over MaxBuffered: dropped, counted
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().WriteErrors == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := l.Stats()
	if st.WriteErrors == 0 || st.Written != 0 || st.Buffered != 10 || st.Dropped != 10 {
		t.Fatalf("while broken: %+v", st)
	}
	os.Remove(store)
	os.Mkdir(store, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st = l.Stats()
	if st.Written != 10 || st.Buffered != 0 {
		t.Fatalf("after repair: %+v", st)
	}
	total := 0
	dec := predlog.NewDecoder(s, info)
	for _, k := range tools.Keys(t, bucket, "") {
		e, err := dec.ReadObject(ctx, bucket, k, runtime.NewBatch(s, 10), nil)
		if err != nil {
			t.Fatal(err)
		}
		total += len(e)
	}
	if total != 10 {
		t.Fatalf("%d records in the store, want 10", total)
	}
}

// TestCorruptObjects: a truncated object, garbage, a wrong record and a
// gzip bomb are each refused whole, with ErrCorrupt.
func TestCorruptObjects(t *testing.T) {
	t.Parallel()
	s, info := schema(t)
	enc := predlog.NewEncoder("m", "1", s, info)
	b, out, ids := rows(t, s, 50)
	var lines predlog.Lines
	for i := 0; i < 50; i++ {
		enc.Append(&lines, &predlog.Record{ID: ids[i], Time: time.Now(), Source: "http", X: b.Row(i), S: b.S[2*i : 2*i+2], Out: out[2*i : 2*i+2]})
	}
	gz := func(p []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(p)
		zw.Close()
		return buf.Bytes()
	}
	good := gz(lines.Bytes())
	bomb := func() []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zeros := make([]byte, 1<<20)
		for i := 0; i < 9; i++ { // 9 MiB against the 8 MiB limit set below
			zw.Write(zeros)
		}
		zw.Close()
		return buf.Bytes()
	}()
	for name, data := range map[string][]byte{
		"truncated":       good[:len(good)/2],
		"not gzip":        []byte("hello"),
		"wrong record":    gz([]byte(`{"id":"x","ts":"2026-01-01T00:00:00Z","features":{"age":1},"prediction":{"value":1}}` + "\n")),
		"unknown class":   gz(bytes.ReplaceAll(lines.Bytes(), []byte(`"leave"`), []byte(`"gone"`))),
		"half a line":     gz(lines.Bytes()[:lines.Len()-20]),
		"decompress bomb": bomb,
	} {
		t.Run(name, func(t *testing.T) {
			dec := predlog.NewDecoder(s, info)
			dec.MaxBytes = 8 << 20
			batch := runtime.NewBatch(s, 10)
			entries, err := dec.Read(bytes.NewReader(data), batch, nil)
			if !errors.Is(err, predlog.ErrCorrupt) {
				t.Fatalf("err %v", err)
			}
			_ = entries
		})
	}
	dec := predlog.NewDecoder(s, info)
	if e, err := dec.Read(bytes.NewReader(good), runtime.NewBatch(s, 10), nil); err != nil || len(e) != 50 {
		t.Fatalf("good object: %d, %v", len(e), err)
	}
}

// TestAppendIDs: ids made together for a request are appended after what
// dst holds, are distinct UUIDv7s (also across the reads of randomness, 64
// ids each), and carry the time they were made.
func TestAppendIDs(t *testing.T) {
	t.Parallel()
	before := time.Now().Truncate(time.Millisecond)
	text := predlog.AppendIDs([]byte("kept"), 1000, time.Now())
	if len(text) != 4+1000*predlog.IDLen || string(text[:4]) != "kept" {
		t.Fatalf("%d bytes, starting %q", len(text), text[:4])
	}
	ids := append([]string{"kept"}, idStrings(text[4:])...)
	after := time.Now()
	if len(ids) != 1001 || ids[0] != "kept" {
		t.Fatalf("%d ids, first %q", len(ids), ids[0])
	}
	seen := map[string]bool{}
	for _, id := range ids[1:] {
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 || u.Variant() != uuid.RFC4122 || u.String() != id || seen[id] {
			t.Fatalf("id %q: %v, version %d, variant %v, repeated %v", id, err, u.Version(), u.Variant(), seen[id])
		}
		seen[id] = true
		if tm, ok := predlog.IDTime(id); !ok || tm.Before(before) || tm.After(after) {
			t.Fatalf("id %s: time %v, made between %v and %v", id, tm, before, after)
		}
	}
	if len(predlog.AppendIDs(nil, 0, time.Now())) != 0 || predlog.NewID() == predlog.NewID() {
		t.Fatal("AppendIDs(nil, 0) or NewID")
	}
}

func TestStableID(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 11, 25, 13, 4, 5, 0, time.UTC)
	a, b := predlog.StableID(when, "k#1"), predlog.StableID(when, "k#1")
	if a != b || a == predlog.StableID(when, "k#2") {
		t.Fatalf("%s %s", a, b)
	}
	// What earlier versions made: a batch re-run after an upgrade logs the same ids.
	if a != "01a212ce-6188-7d70-aa3e-8321610239cf" {
		t.Fatalf("StableID changed: %s", a)
	}
	if ids := predlog.StableIDs([]string{"x"}, when, "k", []int{1, 2, 1234567}); strings.Join(ids, " ") !=
		strings.Join([]string{"x", a, predlog.StableID(when, "k#2"), predlog.StableID(when, "k#1234567")}, " ") {
		t.Fatalf("StableIDs: %v", ids)
	}
	if tm, ok := predlog.IDTime(a); !ok || !tm.Equal(when) {
		t.Fatalf("time %v %v", tm, ok)
	}
	if got := predlog.Partition("p/", when); got != "p/dt=2026-11-25/hr=13/" {
		t.Fatal(got)
	}
}

// idStrings cuts AppendIDs's text into ids.
func idStrings(text []byte) []string {
	var ids []string
	for i := 0; i+predlog.IDLen <= len(text); i += predlog.IDLen {
		ids = append(ids, string(text[i:i+predlog.IDLen]))
	}
	return ids
}

// idText is the text of ids, as Log takes them.
func idText(ids []string) []byte { return []byte(strings.Join(ids, "")) }
