package runtime

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// CSVRows reads CSV records (header first) and fills batch rows from them.
// Columns that are not features (an id, the target) are kept in the record
// and can be read by name; errors carry the 1-based line number.
type CSVRows struct {
	r      *csv.Reader
	Header []string
	feat   []int // header position -> feature index, -1 for other columns
	Record []string
	Line   int // line of Record
}

// NewCSVRows reads the header and checks that every feature has a column.
func NewCSVRows(r io.Reader, s *Schema) (*CSVRows, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = 0 // every record must have the header's width
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errorf(1, "", CodeMalformed, "empty file: a header line is needed")
		}
		return nil, csvError(err)
	}
	c := &CSVRows{r: cr, Header: append([]string(nil), header...), feat: make([]int, len(header))}
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
	for j, ok := range seen {
		if !ok {
			return nil, Errorf(1, s.Features[j].Name, CodeMissingFeature, "the header has no column for this feature")
		}
	}
	return c, nil
}

// Next reads the next record into Record; io.EOF at the end. A malformed
// line is an *InputError naming it; reading may continue after it.
func (c *CSVRows) Next() error {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			c.Line = pe.StartLine
			c.Record = rec
			return csvError(err)
		}
		return err // the underlying reader failed: not the input's fault
	}
	c.Line, _ = c.r.FieldPos(0)
	c.Record = rec
	return nil
}

// Fill appends the current record to b as one row labelled by its line.
func (c *CSVRows) Fill(b *Batch) *InputError { return c.FillRecord(b, c.Record, c.Line) }

// FillRecord appends a record read earlier (its fields, its line) to b. It
// only reads c, so several goroutines may fill their own batches at once.
func (c *CSVRows) FillRecord(b *Batch, record []string, line int) *InputError {
	r := b.Begin(line)
	for i, v := range record {
		if j := c.feat[i]; j >= 0 {
			if err := r.String(j, v, false); err != nil {
				r.Abort()
				return err
			}
		}
	}
	if err := r.End(); err != nil {
		r.Abort()
		return err
	}
	return nil
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

func csvError(err error) *InputError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return Errorf(pe.StartLine, "", CodeWrongShape, "%v", pe.Err)
		}
		return Errorf(pe.StartLine, "", CodeMalformed, "column %d: %v", pe.Column, pe.Err)
	}
	return Errorf(-1, "", CodeMalformed, "%v", err)
}

// String names the line for CLI messages: "file.csv:12: ...".
func (e *InputError) At(file string) string {
	if e.Row > 0 {
		msg := *e
		msg.Row = -1
		return fmt.Sprintf("%s:%d: %s", file, e.Row, msg.Error())
	}
	return fmt.Sprintf("%s: %s", file, e.Error())
}
