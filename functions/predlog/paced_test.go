package predlog

import (
	"bytes"
	"io"
	"testing"
)

// pieces records the size of every write.
type pieces struct {
	bytes.Buffer
	sizes []int
}

func (p *pieces) Write(b []byte) (int, error) {
	p.sizes = append(p.sizes, len(b))
	return p.Buffer.Write(b)
}

// TestPacedReader: written into a file the chunk goes in pieces of at most
// pacePiece, read it comes whole; either way every byte, in order.
func TestPacedReader(t *testing.T) {
	data := make([]byte, 5*pacePiece/2)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var w pieces
	if n, err := io.Copy(&w, &pacedReader{b: data}); err != nil || n != int64(len(data)) {
		t.Fatalf("copy: %d bytes, %v", n, err)
	}
	if !bytes.Equal(w.Bytes(), data) || len(w.sizes) != 3 || w.sizes[0] != pacePiece || w.sizes[2] != pacePiece/2 {
		t.Fatalf("written in pieces %v; same bytes %v", w.sizes, bytes.Equal(w.Bytes(), data))
	}
	got, err := io.ReadAll(&pacedReader{b: data})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read: %d bytes, %v", len(got), err)
	}
}
