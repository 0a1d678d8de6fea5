package local

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// acceptSock returns both ends of a loopback TCP connection, the server's
// a sockConn (made directly: sockets leaves connections alone under the
// race detector).
func acceptSock(t *testing.T) (server *sockConn, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSockConn(a.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s, c.(*net.TCPConn)
}

// TestSockConn: recvfrom and sendto behave as net.TCPConn's read and
// write: a write larger than the socket's buffers waits for room and sends
// every byte in order, reads end in io.EOF when the peer closes, a
// deadline cuts off a waiting read or write with a timeout error, and a
// reset connection gives a net.OpError.
func TestSockConn(t *testing.T) {
	t.Run("big write and read back", func(t *testing.T) {
		s, c := acceptSock(t)
		want := make([]byte, 8<<20) // far beyond loopback's socket buffers: sendto waits for room
		for i := range want {
			want[i] = byte(i * 7 / 3)
		}
		got := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(c)
			got <- b
		}()
		if n, err := s.Write(want); n != len(want) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
		}
		s.CloseWrite()
		if b := <-got; !bytes.Equal(b, want) {
			t.Fatalf("client read %d bytes, not the %d written", len(b), len(want))
		}

		// And the other way, read in small pieces, until EOF.
		go func() { c.Write(want); c.CloseWrite() }()
		var b bytes.Buffer
		buf := make([]byte, 1000)
		for {
			n, err := s.Read(buf)
			b.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("server read %d bytes, not the %d written", b.Len(), len(want))
		}
		if n, err := s.Read(nil); n != 0 || err != nil {
			t.Errorf("Read(nil) = %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("deadlines", func(t *testing.T) {
		s, c := acceptSock(t)
		s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := s.Read(make([]byte, 10))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read past its deadline: %v, want a timeout", err)
		}
		// The deadline passes once the write is under way (the client has
		// its first byte), not after a fixed time, which a loaded machine
		// could spend before the first send.
		go func() {
			c.Read(make([]byte, 1)) // and nothing more: the buffers fill
			s.SetWriteDeadline(time.Now())
		}()
		n, err := s.Write(make([]byte, 64<<20))
		if !errors.As(err, &ne) || !ne.Timeout() || n == 0 || n == 64<<20 {
			t.Errorf("write past its deadline: %d bytes, %v; want some bytes and a timeout", n, err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		s, c := acceptSock(t)
		c.SetLinger(0) // close with a reset
		c.Close()
		time.Sleep(10 * time.Millisecond)
		_, err := s.Read(make([]byte, 10))
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "read" {
			t.Errorf("read of a reset connection: %v, want a read net.OpError", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		s, _ := acceptSock(t)
		s.Close()
		if _, err := s.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after Close: %v, want net.ErrClosed", err)
		}
		if _, err := s.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("write after Close: %v, want net.ErrClosed", err)
		}
	})
}
