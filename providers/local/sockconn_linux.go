package local

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The local server reads and writes its TCP connections with recvfrom and
// sendto rather than read and write. On a socket both reach the same
// socket code, but read and write go through the file layer first
// (vfs_read and vfs_write, fdget_pos, rw_verify_area in perf's profile),
// which a one-row request, two thirds of it the kernel's, paid for twice:
// alternated by hand under wrk, 4-5% more one-row requests a second with
// the prediction log off and 1-2% with it on (recvfrom about 4, sendto 2).
// x/sys's Recvfrom and SendmsgN were about 4% slower than read and write:
// one asks for the sender's address, the other copies a message header
// in; these calls pass neither.

// sockets returns ln with the TCP connections it accepts read and written
// by recvfrom and sendto; as it is under the race detector, which sees a
// write to a socket happen before the read at the other end only through
// net's own read and write.
func sockets(ln net.Listener) net.Listener {
	if raceEnabled {
		return ln
	}
	return sockListener{ln}
}

type sockListener struct{ net.Listener }

func (l sockListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if s, err := newSockConn(tc); err == nil {
			return s, nil
		}
	}
	return c, nil
}

func newSockConn(tc *net.TCPConn) (*sockConn, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &sockConn{TCPConn: tc, rc: rc}
	s.recv, s.send = s.recvOnce, s.sendAll
	return s, nil
}

// sockConn is a TCP connection whose Read and Write are recvfrom and
// sendto, made on Go's poller (syscall.RawConn), so deadlines, closing and
// waiting for the socket work as on the net.TCPConn it wraps.
type sockConn struct {
	*net.TCPConn
	rc syscall.RawConn
	// Each call's buffer and result, for the poller's callbacks, which
	// are made once: a closure made per call would go to the heap.
	in, out       []byte
	nIn, nOut     int
	errIn, errOut error
	recv, send    func(fd uintptr) bool
}

func (c *sockConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.in, c.nIn, c.errIn = p, 0, nil
	err := c.rc.Read(c.recv)
	n := c.nIn
	if err == nil {
		err = c.errIn
	}
	c.in = nil
	return n, err
}

// recvOnce reads once into c.in; false asks the poller to wait for data.
// It and sendAll each keep their own system call loop: one helper for
// both, too large to inline, cost 2% of one-row requests/s (by hand).
func (c *sockConn) recvOnce(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.in[0])), uintptr(len(c.in)), 0, 0, 0)
		switch e {
		case 0:
			if c.nIn = int(n); n == 0 {
				c.errIn = io.EOF
			}
			return true
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			c.errIn = c.opError("read", "recvfrom", e)
			return true
		}
	}
}

func (c *sockConn) Write(p []byte) (int, error) {
	c.out, c.nOut, c.errOut = p, 0, nil
	err := c.rc.Write(c.send)
	n := c.nOut
	if err == nil {
		err = c.errOut
	}
	c.out = nil
	return n, err
}

// sendAll writes c.out until it is all sent; false asks the poller to
// wait for room.
func (c *sockConn) sendAll(fd uintptr) bool {
	for c.nOut < len(c.out) {
		rest := c.out[c.nOut:]
		n, _, e := unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)), unix.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			c.nOut += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			c.errOut = c.opError("write", "sendto", e)
			return true
		}
	}
	return true
}

// opError is the error net.TCPConn would give.
func (c *sockConn) opError(op, call string, e syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(call, e)}
}
