package predlog_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelfn/modelfn/functions/predlog"
)

// gunzip reads data back with the standard library's reader, which checks
// the codes, the CRC and the length.
func gunzip(t testing.TB, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEncoderCompress: what Encoder.Compress writes reads back exactly,
// with Go's reader and with gzip(1), whatever the lines hold.
func TestEncoderCompress(t *testing.T) {
	t.Parallel()
	chunkEnc, recs := logChunk(t)
	var chunk []byte
	for i := range recs {
		chunk = chunkEnc.Append(chunk, &recs[i])
	}
	s, info := schema(t)
	enc := predlog.NewEncoder("churn", "3", s, info)
	small := records(t, enc, s, 50) // categorical values with quotes and escapes, nulls
	huge := enc.Append(nil, &predlog.Record{ID: predlog.NewID(), Time: time.Now(), Source: "http", X: []float64{1, 0},
		S: []string{"", strings.Repeat("ü\"x", 20000)}, Out: []float64{0.25, 0.75}}) // a record longer than deflate's 32 KB window
	same := bytes.Repeat(small[:bytes.IndexByte(small, '\n')+1], 3000)

	cases := map[string]struct {
		enc   *predlog.Encoder
		lines []byte
	}{
		"empty":                   {enc, nil},
		"one record, no newline":  {enc, small[:bytes.IndexByte(small, '\n')]},
		"records":                 {enc, small},
		"1,000 example records":   {chunkEnc, chunk},
		"identical records":       {enc, same}, // longest references, several blocks
		"over the window":         {enc, append(append(append([]byte{}, small...), huge...), small...)},
		"another encoder's lines": {enc, chunk},
		"not records":             {enc, []byte("{\"id\":\n{\"id\":\"x\",\"ts\":\n\n\x00\xff{\"id\":\"a\\\"\n")},
		"records cut and spliced": {enc, append(append(append([]byte{}, small[:700]...), small[350:]...), small[:1000]...)},
	}
	for name, c := range cases {
		gz := c.enc.Compress([]byte("kept"), c.lines)
		if !bytes.HasPrefix(gz, []byte("kept")) {
			t.Fatalf("%s: dst not appended to", name)
		}
		gz = gz[4:]
		if back := gunzip(t, gz); !bytes.Equal(back, c.lines) {
			t.Fatalf("%s: read back %d bytes differ from the %d written", name, len(back), len(c.lines))
		}
		cmd := exec.Command("gzip", "-dc")
		cmd.Stdin = bytes.NewReader(gz)
		if back, err := cmd.Output(); err != nil || !bytes.Equal(back, c.lines) {
			t.Fatalf("%s: gzip -dc: %v, %d bytes back of %d", name, err, len(back), len(c.lines))
		}
		t.Logf("%s: %d bytes → %d", name, len(c.lines), len(gz))
	}
	// As compact as a general gzip at its fastest level on real records.
	ours, general := len(chunkEnc.Compress(nil, chunk)), len(predlog.Compress(nil, chunk))
	if ours > general*11/10 {
		t.Errorf("1,000 records: %d bytes, a general gzip's %d", ours, general)
	}
}

// FuzzEncoderCompress: any lines, records or not, read back exactly.
func FuzzEncoderCompress(f *testing.F) {
	s, info := schema(f)
	enc := predlog.NewEncoder("m", "1", s, info)
	lines := records(f, enc, s, 3)
	f.Add(lines)
	f.Add(bytes.Repeat(lines, 5))
	f.Add([]byte("{\"id\":\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if back := gunzip(t, enc.Compress(nil, data)); !bytes.Equal(back, data) {
			t.Fatalf("read back differs: %q", back)
		}
	})
}
