package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSVRows reads CSV (RFC 4180, header first) and fills batch rows from it.
// Columns that are not features (an id, the target) are kept in the record
// and can be read by name; errors carry the 1-based line number.
//
// It splits records itself rather than with encoding/csv: a chunk of
// records becomes one string whose substrings are the fields (no
// allocation per record), and each record's raw text is kept so a batch
// output can echo it unchanged.
type CSVRows struct {
	Header  []string
	feat    []int // header position -> feature index, -1 for other columns
	inOrder bool  // the features are the header's first columns, in schema order

	src  io.Reader
	mem  []byte // buf's backing array
	buf  []byte // read, not yet split into records
	eof  bool
	line int // line of buf[0]

	// The most records and fields a chunk has held: a chunk's slices
	// are made that large at once rather than grown to it (growing the
	// pipeline's six new chunks was a third of a 10,000-row file's CPU).
	mostRecords, mostFields int

	one    CSVChunk // Next's chunk, and its good and bad records taken
	gi, bi int
	Record []string // the record Next read
	Line   int      // its line
}

// CSVChunk is a run of consecutive records.
type CSVChunk struct {
	Fields []string // len(Header) per good record
	Raw    []string // each good record's text, without its line break
	Lines  []int    // each good record's first line
	Bad    []*InputError
	spans  []int     // field start/end offsets while splitting
	recs   []recSpan // the good records while splitting
}

type recSpan struct{ fields, rawStart, rawEnd int }

// Records is how many records the chunk read, bad ones included.
func (c *CSVChunk) Records() int { return len(c.Lines) + len(c.Bad) }

// Record is good record i's fields.
func (c *CSVChunk) Record(i, width int) []string { return c.Fields[i*width : (i+1)*width] }

func (c *CSVChunk) reset() {
	c.Fields, c.Raw, c.Lines, c.Bad = c.Fields[:0], c.Raw[:0], c.Lines[:0], c.Bad[:0]
	c.spans, c.recs = c.spans[:0], c.recs[:0]
}

// reserve makes room for records good records of fields fields in all.
func (c *CSVChunk) reserve(records, fields int) {
	if cap(c.recs) < records {
		c.recs, c.Raw, c.Lines = make([]recSpan, 0, records), make([]string, 0, records), make([]int, 0, records)
	}
	if cap(c.Fields) < fields {
		c.Fields, c.spans = make([]string, 0, fields), make([]int, 0, 2*fields)
	}
}

// maxRecord bounds one record, so a file with an unterminated quote cannot
// make the reader buffer the rest of it.
const maxRecord = 8 << 20

// NewCSVRows reads the header and checks that every feature has a column.
func NewCSVRows(r io.Reader, s *Schema) (*CSVRows, error) {
	c := &CSVRows{src: r, line: 1}
	var hdr CSVChunk
	if err := c.ReadChunk(&hdr, 1, -1); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errorf(1, "", CodeMalformed, "empty file: a header line is needed")
		}
		return nil, err
	}
	if len(hdr.Bad) > 0 {
		return nil, hdr.Bad[0]
	}
	c.Header = hdr.Fields
	c.feat = make([]int, len(c.Header))
	seen := make([]bool, s.Width())
	for i, h := range c.Header {
		c.feat[i] = -1
		if j, ok := s.Index(h); ok {
			if seen[j] {
				return nil, Errorf(1, h, CodeMalformed, "column appears twice in the header")
			}
			seen[j] = true
			c.feat[i] = j
		}
	}
	c.inOrder = true
	for j, ok := range seen {
		if !ok {
			return nil, Errorf(1, s.Features[j].Name, CodeMissingFeature, "the header has no column for this feature")
		}
		c.inOrder = c.inOrder && c.feat[j] == j
	}
	return c, nil
}

// Next reads one record into Record and Line; io.EOF at the end. A
// malformed record is an *InputError naming its line; reading may go on.
func (c *CSVRows) Next() error {
	ch := &c.one
	for c.gi == len(ch.Lines) && c.bi == len(ch.Bad) {
		c.gi, c.bi = 0, 0
		if err := c.ReadChunk(ch, 256, len(c.Header)); err != nil {
			return err
		}
	}
	// Bad and good records interleave by line.
	if c.bi < len(ch.Bad) && (c.gi == len(ch.Lines) || ch.Bad[c.bi].Row < ch.Lines[c.gi]) {
		e := ch.Bad[c.bi]
		c.bi++
		c.Record, c.Line = nil, e.Row
		return e
	}
	c.Record, c.Line = ch.Record(c.gi, len(c.Header)), ch.Lines[c.gi]
	c.gi++
	return nil
}

// ReadChunk reads up to limit records into ch. width is the number of fields
// a record must have (-1: any). It returns io.EOF when no record is left,
// and another error only when the underlying reader fails or a record
// never ends.
func (c *CSVRows) ReadChunk(ch *CSVChunk, limit, width int) error {
	ch.reset()
	ch.reserve(c.mostRecords, c.mostFields)
	p, n, line := 0, 0, c.line // where splitting stopped
	for {
		p, n, line = c.split(ch, p, n, line, limit, width)
		if n == limit || c.eof || (n > 0 && p >= maxChunk) {
			break
		}
		if n == 0 {
			// Only empty lines so far: drop them now, or a long run of
			// them (a gzip bomb of newlines) would stay buffered and
			// finally be taken for one record over maxRecord.
			c.buf, c.line, p = c.buf[p:], line, 0
		}
		if len(c.buf)-p > maxRecord {
			if n > 0 {
				break // the records before it first
			}
			return Errorf(line, "", CodeTooLarge, "a record longer than %d bytes (an unterminated quote?)", maxRecord)
		}
		if err := c.fill(); err != nil {
			return err
		}
	}
	if n == 0 {
		c.buf, c.line = c.buf[p:], line
		return io.EOF
	}
	c.consume(ch, p)
	c.line = line
	c.mostRecords, c.mostFields = max(c.mostRecords, len(ch.Lines)), max(c.mostFields, len(ch.Fields))
	return nil
}

// maxChunk bounds a chunk's bytes, as limit does its records (for wide rows).
const maxChunk = 4 << 20

// bufSize is the least input buffer and readSize the least free space a
// read gets.
const bufSize, readSize = 4 << 20, 1 << 20

// fill reads more input behind buf. Split records are dropped by
// reslicing buf (consume), so only when too little space is left behind
// it does buf move to the front of its backing array (or to a larger
// one), copying just the part of a chunk not split yet.
func (c *CSVRows) fill() error {
	if cap(c.buf)-len(c.buf) < readSize {
		if cap(c.mem) < len(c.buf)+readSize {
			c.mem = make([]byte, max(bufSize, 2*len(c.buf)+readSize))
		}
		c.buf = c.mem[:copy(c.mem, c.buf)]
	}
	n, err := c.src.Read(c.buf[len(c.buf):cap(c.buf)])
	c.buf = c.buf[:len(c.buf)+n]
	if errors.Is(err, io.EOF) {
		c.eof = true
		return nil
	}
	return err
}

// split goes on finding complete records in buf from offset p, line
// line, n records found so far, until it has max: field offsets go to
// ch.spans and ch.recs, bad records to ch.Bad. It returns where it
// stopped (empty lines are skipped, as encoding/csv does, and not
// counted).
func (c *CSVRows) split(ch *CSVChunk, p, n, line, max, width int) (int, int, int) {
	for n < max && p < len(c.buf) {
		startLine, spans := line, len(ch.spans)
		q, lines, nf, rawStart, rawEnd, perr := c.record(ch, p)
		if q < 0 {
			ch.spans = ch.spans[:spans] // scanned again with more input
			break
		}
		line += lines
		p = q
		switch {
		case perr == "" && nf == 1 && rawEnd == rawStart:
			ch.spans = ch.spans[:len(ch.spans)-2] // an empty line
			continue
		case perr != "":
			ch.spans = ch.spans[:len(ch.spans)-2*nf]
			ch.Bad = append(ch.Bad, Errorf(startLine, "", CodeMalformed, "%s", perr))
		case width >= 0 && nf != width:
			ch.spans = ch.spans[:len(ch.spans)-2*nf]
			ch.Bad = append(ch.Bad, Errorf(startLine, "", CodeWrongShape, "wrong number of fields: %d, the header has %d", nf, width))
		default:
			ch.recs = append(ch.recs, recSpan{nf, rawStart, rawEnd})
			ch.Lines = append(ch.Lines, startLine)
		}
		n++
	}
	return p, n, line
}

// record scans one record from buf[p:], appending its field spans to
// ch.spans. It returns the offset after its line break, the line breaks it
// crossed, its field count and its text's span. The offset is -1 when the
// record is not complete yet. A malformed record is scanned to its line
// end and described by perr.
func (c *CSVRows) record(ch *CSVChunk, p int) (next, lines, nf, rawStart, rawEnd int, perr string) {
	b := c.buf
	rawStart = p
	incomplete := func() (int, int, int, int, int, string) { return -1, 0, 0, 0, 0, "" }
	for {
		if p < len(b) && b[p] == '"' { // a quoted field
			start := p
			p++
			for {
				i := bytes.IndexByte(b[p:], '"')
				if i < 0 {
					if !c.eof {
						return incomplete()
					}
					return c.skipLine(rawStart, nf, "unterminated quoted field")
				}
				lines += countLines(b[p : p+i])
				p += i + 1
				if p == len(b) && !c.eof {
					return incomplete()
				}
				if p < len(b) && b[p] == '"' {
					p++ // an escaped quote
					continue
				}
				break
			}
			ch.spans = append(ch.spans, start, p)
			nf++
			if p < len(b) && b[p] != ',' && b[p] != '\n' && b[p] != '\r' {
				return c.skipLine(rawStart, nf, `extraneous " in a quoted field`)
			}
		} else {
			start := p
			for p < len(b) && b[p] != ',' && b[p] != '\n' {
				if b[p] == '"' {
					return c.skipLine(rawStart, nf, `bare " in a non-quoted field`)
				}
				p++
			}
			if p == len(b) && !c.eof {
				return incomplete()
			}
			fend := p
			if fend > start && b[fend-1] == '\r' {
				fend--
			}
			ch.spans = append(ch.spans, start, fend)
			nf++
		}
		if p < len(b) && b[p] == ',' {
			p++
			continue
		}
		if p < len(b) && b[p] == '\r' { // after a quoted field
			if p+1 == len(b) && !c.eof {
				return incomplete()
			}
			p++
		}
		rawEnd = p
		if rawEnd > rawStart && b[rawEnd-1] == '\r' {
			rawEnd--
		}
		if p < len(b) && b[p] == '\n' {
			p++
			lines++
		}
		return p, lines, nf, rawStart, rawEnd, ""
	}
}

// skipLine ends a malformed record at its line break, dropping the field
// spans it had.
func (c *CSVRows) skipLine(rawStart, nf int, why string) (int, int, int, int, int, string) {
	i := bytes.IndexByte(c.buf[rawStart:], '\n')
	if i < 0 && !c.eof {
		return -1, 0, 0, 0, 0, ""
	}
	end, lines := len(c.buf), 0
	if i >= 0 {
		end, lines = rawStart+i+1, 1
	}
	return end, lines, nf, rawStart, end, why
}

// consume turns buf[:end] into one string and the spans into its
// substrings, then drops buf[:end].
func (c *CSVRows) consume(ch *CSVChunk, end int) {
	data := string(c.buf[:end])
	sp := ch.spans
	for _, r := range ch.recs {
		for f := 0; f < r.fields; f++ {
			ch.Fields = append(ch.Fields, field(data, sp[2*f], sp[2*f+1]))
		}
		sp = sp[2*r.fields:]
		ch.Raw = append(ch.Raw, data[r.rawStart:r.rawEnd])
	}
	c.buf = c.buf[end:]
}

// field is a field's value: quoted fields lose their quotes, and doubled
// quotes inside become one.
func field(data string, a, b int) string {
	f := data[a:b]
	if len(f) < 2 || f[0] != '"' {
		return f
	}
	f = f[1 : len(f)-1]
	if strings.Contains(f, `""`) {
		f = strings.ReplaceAll(f, `""`, `"`)
	}
	return f
}

func countLines(b []byte) int { return bytes.Count(b, []byte{'\n'}) }

// FillRecord appends a record (its fields, its line) to b. asJSON says
// every number in it is written in JSON's grammar, so FeatureText can be
// logged as it is. It only reads c, so several goroutines may fill their
// own batches at once.
func (c *CSVRows) FillRecord(b *Batch, record []string, line int) (asJSON bool, err *InputError) {
	r := b.Begin(line)
	for i, v := range record {
		if j := c.feat[i]; j >= 0 {
			if err := r.String(j, v, false); err != nil {
				r.Abort()
				return false, err
			}
		}
	}
	if err := r.End(); err != nil {
		r.Abort()
		return false, err
	}
	return r.asJSON, nil
}

// FeatureText is each feature's text in record, in schema order: the
// record itself when its columns are in that order, else put into dst (one
// string per feature).
func (c *CSVRows) FeatureText(record []string, dst []string) []string {
	if c.inOrder {
		return record[:len(dst)]
	}
	for i, v := range record {
		if j := c.feat[i]; j >= 0 {
			dst[j] = v
		}
	}
	return dst
}

// Fill appends the record Next read to b.
func (c *CSVRows) Fill(b *Batch) *InputError {
	_, err := c.FillRecord(b, c.Record, c.Line)
	return err
}

// Column is the position of a header column, -1 if absent.
func (c *CSVRows) Column(name string) int {
	for i, h := range c.Header {
		if h == name {
			return i
		}
	}
	return -1
}

// At names the line for CLI messages: "file.csv:12: ...".
func (e *InputError) At(file string) string {
	if e.Row > 0 {
		msg := *e
		msg.Row = -1
		return fmt.Sprintf("%s:%d: %s", file, e.Row, msg.Error())
	}
	return fmt.Sprintf("%s: %s", file, e.Error())
}
