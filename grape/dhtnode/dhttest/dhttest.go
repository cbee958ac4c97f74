// Package dhttest runs DHT nodes on the loopback interface for tests: real ones (the
// anacrolix/dht/v2 server, which stores BEP 44 items) that know each other, and scripted
// ones that answer whatever a test makes them answer.
package dhttest

import (
	"errors"
	"net"
	"sync"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/krpc"
	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/time/rate"
)

// Network is n real nodes, each with all the others in its routing table.
type Network struct {
	Servers []*dht.Server
}

// Start starts n nodes on 127.0.0.1.
func Start(n int) (*Network, error) {
	nw := &Network{}
	for range n {
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			nw.Close()
			return nil, err
		}
		cfg := dht.NewDefaultServerConfig()
		cfg.Conn = conn
		cfg.StartingNodes = func() ([]dht.Addr, error) { return nil, nil } // never the public routers
		var l alog.Logger
		l.SetHandlers(alog.DiscardHandler)
		cfg.Logger = l
		// The default is one limiter for the process, shared by every node, and a node
		// that would wait for it drops its reply instead.
		cfg.SendLimiter = rate.NewLimiter(rate.Inf, 0)
		s, err := dht.NewServer(cfg)
		if err != nil {
			conn.Close()
			nw.Close()
			return nil, err
		}
		nw.Servers = append(nw.Servers, s)
	}
	// Each pings every other: a node tells of the nodes that answered it only.
	for _, s := range nw.Servers {
		for _, o := range nw.Servers {
			if o == s {
				continue
			}
			if res := s.Ping(o.Addr().(*net.UDPAddr)); res.Err != nil {
				nw.Close()
				return nil, res.Err
			}
		}
	}
	return nw, nil
}

// Addrs are the nodes' addresses, IP:port.
func (nw *Network) Addrs() []string {
	var a []string
	for _, s := range nw.Servers {
		a = append(a, s.Addr().String())
	}
	return a
}

// Close stops the nodes.
func (nw *Network) Close() {
	for _, s := range nw.Servers {
		s.Close()
	}
}

// Fake is a scripted node: Answer decides its reply to each query.
type Fake struct {
	conn net.PacketConn
	// Answer returns the reply to a query (its T is filled in), or nil for none.
	Answer func(q *krpc.Msg) *krpc.Msg
	// Raw, when set, returns the bytes to send instead, as they are.
	Raw  func(q *krpc.Msg) []byte
	mu   sync.Mutex
	got  []krpc.Msg
	done chan struct{}
}

// NewFake starts a scripted node on 127.0.0.1.
func NewFake(answer func(q *krpc.Msg) *krpc.Msg) (*Fake, error) {
	return newFake(&Fake{Answer: answer})
}

// NewRawFake starts a scripted node that answers raw's bytes as they are.
func NewRawFake(raw func(q *krpc.Msg) []byte) (*Fake, error) {
	return newFake(&Fake{Raw: raw})
}

func newFake(f *Fake) (*Fake, error) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.conn, f.done = conn, make(chan struct{})
	go f.serve()
	return f, nil
}

func (f *Fake) serve() {
	defer close(f.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := f.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		} else if err != nil {
			continue
		}
		var q krpc.Msg
		if bencode.Unmarshal(buf[:n], &q) != nil || q.Y != "q" {
			continue
		}
		f.mu.Lock()
		f.got = append(f.got, q)
		f.mu.Unlock()
		if f.Raw != nil {
			f.conn.WriteTo(f.Raw(&q), from)
			continue
		}
		r := f.Answer(&q)
		if r == nil {
			continue
		}
		r.T = q.T
		b, err := bencode.Marshal(r)
		if err != nil {
			panic(err)
		}
		f.conn.WriteTo(b, from)
	}
}

// Addr is the node's address, IP:port.
func (f *Fake) Addr() string { return f.conn.LocalAddr().String() }

// Queries returns the queries received so far.
func (f *Fake) Queries() []krpc.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]krpc.Msg(nil), f.got...)
}

// Close stops the node.
func (f *Fake) Close() {
	f.conn.Close()
	<-f.done
}

// Reply is a reply from node id with r's fields.
func Reply(id [20]byte, r krpc.Return) *krpc.Msg {
	r.ID = id
	return &krpc.Msg{Y: "r", R: &r}
}

// Error is a KRPC error reply.
func Error(code int, msg string) *krpc.Msg {
	return &krpc.Msg{Y: "e", E: &krpc.Error{Code: code, Msg: msg}}
}
