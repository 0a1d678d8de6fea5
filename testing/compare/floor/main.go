// Command floor is the cheapest HTTP server for `make bench-compare`'s
// one-row load (its floor section): it answers every request with a fixed
// JSON body and does nothing else, so the CPU it spends per request is the
// floor of a server design on this machine. It has two designs:
//
//   - goroutines: Go's net package, a goroutine per connection, as
//     modelfn's local server (fasthttp) is built;
//   - gnet: gnet's event loop, one goroutine for all connections, reading
//     only what epoll says is ready.
//
// The difference between the two is what a different I/O model could take
// from a one-row request:
//
//	go run ./testing/compare/benchcompare -sections floor -out testing/compare/results/floor.json
//
// It is its own module so that gnet is not a dependency of modelfn.
package main

import (
	"bytes"
	"flag"
	"log"
	"net"
	"strconv"

	"github.com/panjf2000/gnet/v2"
)

var response = func() []byte {
	body := `{"predictions":[0.9876543]}`
	return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// complete returns the length of the whole request at the front of b, or
// 0 if it has not all arrived. Only what wrk sends is understood.
func complete(b []byte) int {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return 0
	}
	length := 0
	if j := bytes.Index(b[:i], []byte("Content-Length: ")); j >= 0 {
		for k := j + 16; k < i && b[k] >= '0' && b[k] <= '9'; k++ {
			length = length*10 + int(b[k]-'0')
		}
	}
	if len(b) < i+4+length {
		return 0
	}
	return i + 4 + length
}

func serveGoroutines(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go func(c net.Conn) {
			defer c.Close()
			in, buf := make([]byte, 0, 8192), make([]byte, 8192)
			for {
				if n := complete(in); n > 0 {
					in = in[:copy(in, in[n:])]
					if _, err := c.Write(response); err != nil {
						return
					}
					continue
				}
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				in = append(in, buf[:n]...)
			}
		}(conn)
	}
}

type loop struct{ gnet.BuiltinEventEngine }

func (*loop) OnTraffic(c gnet.Conn) gnet.Action {
	in, _ := c.Peek(-1)
	used, out := 0, make([]byte, 0, 512)
	for n := complete(in[used:]); n > 0; n = complete(in[used:]) {
		used += n
		out = append(out, response...)
	}
	c.Discard(used)
	if len(out) > 0 {
		c.Write(out)
	}
	return gnet.None
}

func main() {
	design := flag.String("design", "goroutines", "goroutines or gnet")
	addr := flag.String("addr", "127.0.0.1:18090", "address to listen on")
	flag.Parse()
	var err error
	switch *design {
	case "goroutines":
		err = serveGoroutines(*addr)
	case "gnet":
		err = gnet.Run(&loop{}, "tcp://"+*addr, gnet.WithMulticore(false), gnet.WithNumEventLoop(1))
	default:
		log.Fatalf("floor: -design %q: want goroutines or gnet", *design)
	}
	log.Fatal(err)
}
