// Package dhtnode is a grape.Transport with no grape: a short-lived node of the DHT itself,
// on github.com/anacrolix/dht/v2, that reaches the nodes it is given (a grape's DHT port,
// any BEP 44 node) and stores and reads items with them.
//
// It is glue only: the library speaks the protocol and walks the DHT. This package starts
// the walk from the addresses given and nowhere else, runs every value it hears through
// grape.Check, chooses among the answers, and words what the nodes refused. It drives the
// library's Server and traversal itself rather than its exts/getput helpers: getput.Put
// reports success when every node refused the item, and getput.Get dereferences the seq
// of a reply that has a key and no seq, a crash any node could cause.
package dhtnode

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	abep44 "github.com/anacrolix/dht/v2/bep44"
	k_nearest_nodes "github.com/anacrolix/dht/v2/k-nearest-nodes"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/dht/v2/traversal"
	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/time/rate"

	"grenache/bep44"
	"grenache/grape"
)

const (
	// queryTimeout bounds one query to one node, resends included: a node that has not
	// answered by then is passed over. Nodes answer in milliseconds, far ones in well
	// under a second.
	queryTimeout = 2 * time.Second
	// resendDelay is how long a query waits for its answer before it is sent again
	// (UDP may lose it), up to the library's three sends.
	resendDelay = 600 * time.Millisecond
	// alpha is how many queries a walk keeps in flight.
	alpha = 16
	// Once nodes have answered, a query is given up after settleFactor times the slowest
	// answer so far, and at least minSettle: a node that has not answered by then is most
	// likely gone (a grape lists every node that ever queried it, short-lived ones like
	// this one included, until it finds out), and waiting queryTimeout for each would
	// hold the walk's few slots while closer nodes wait to be asked.
	settleFactor = 4
	minSettle    = 25 * time.Millisecond
)

var (
	// ErrNoAnswer is a walk in which no node answered: none of the addresses given is a
	// DHT node that can be reached.
	ErrNoAnswer = errors.New("no DHT node answered")
	// ErrNotStored is a put that no node took.
	ErrNotStored = errors.New("no DHT node stored the item")
	// ErrUnsupported is an operation a DHT node does not offer over this transport.
	ErrUnsupported = errors.New("not available over --dht: it needs a grape")
)

// Node is a running DHT node: a grape.Transport. Close it when done.
type Node struct {
	s     *dht.Server
	where string // the addresses given, for messages
}

var _ grape.Transport = (*Node)(nil)

// Start starts a node on an ephemeral UDP port that will walk the DHT from bootstrap
// ("HOST:PORT" each, IPv6 in brackets). A localhost name is the loopback interface, with
// no resolver asked; other names are looked up, as given, once. The node binds the
// loopback interface when every address is a loopback one, else every interface. It
// answers no queries (BEP 43 read-only): it lives for one command, and must not take
// items other nodes store, which would go when it does.
func Start(ctx context.Context, bootstrap []string) (*Node, error) {
	return startNode(ctx, bootstrap, true)
}

// StartServing is Start for a node that answers queries while it runs (it still keeps
// no item: it refuses puts). Grapes list every node that queried them, read-only or not,
// and hand them out: a read-only node looks gone to whoever queries it, and libtorrent
// waits for such nodes to time out (its puts then take over 10 s). A process that stays
// up for long, as the interop tests do, is better seen answering.
func StartServing(ctx context.Context, bootstrap []string) (*Node, error) {
	return startNode(ctx, bootstrap, false)
}

func startNode(ctx context.Context, bootstrap []string, passive bool) (*Node, error) {
	if len(bootstrap) == 0 {
		return nil, errors.New("no DHT node to start from")
	}
	var boot []dht.Addr
	loopback := true
	for _, hp := range bootstrap {
		ips, port, err := resolve(ctx, hp)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			loopback = loopback && ip.IsLoopback()
			boot = append(boot, dht.NewAddr(net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port))))
		}
	}
	bind := ":0"
	if loopback {
		bind = "127.0.0.1:0"
		if boot[0].IP().To4() == nil {
			bind = "[::1]:0"
		}
	}
	conn, err := net.ListenPacket("udp", bind)
	if err != nil {
		return nil, fmt.Errorf("starting a DHT node: %w", err)
	}
	cfg := dht.NewDefaultServerConfig()
	cfg.Conn = conn
	cfg.Passive = passive
	cfg.Store = keepsNothing{}
	// The walk starts at the addresses given: never the library's default, the public
	// routers looked up by name.
	cfg.StartingNodes = func() ([]dht.Addr, error) { return boot, nil }
	cfg.QueryResendDelay = func() time.Duration { return resendDelay }
	// Not the library's limiter, shared by the process (250 a second, 25 at once): a
	// serving node drops a reply it would have to wait for, and looks gone to the asker.
	// Our own queries bypass it.
	cfg.SendLimiter = rate.NewLimiter(rate.Inf, 0)
	cfg.Logger = quiet()
	// The library also writes through its log package's Default logger, to standard
	// error: a malformed message, quoted, from any node. This process is the node's
	// only user: drop them too.
	alog.Default = quiet()
	s, err := dht.NewServer(cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("starting a DHT node: %w", err)
	}
	return &Node{s: s, where: strings.Join(bootstrap, ",")}, nil
}

// keepsNothing is a node's store: gets find nothing and puts are refused, so that no
// one's item lives in a node that goes when its command ends. (The library's own store
// would also take a put whose cas is not the stored seq: it compares it with the cas
// the stored item came with.)
type keepsNothing struct{}

func (keepsNothing) Put(*abep44.Item) error {
	return krpc.Error{Code: krpc.ErrorCodeGenericError, Msg: "this node keeps no items"}
}
func (keepsNothing) Get(abep44.Target) (*abep44.Item, error) { return nil, abep44.ErrItemNotFound }
func (keepsNothing) Del(abep44.Target) error                 { return nil }

// quiet is a logger that drops the library's messages: what a user needs to know comes
// back as errors.
func quiet() alog.Logger {
	var l alog.Logger
	l.SetHandlers(alog.DiscardHandler)
	return l
}

// resolve reads HOST:PORT.
func resolve(ctx context.Context, hostPort string) ([]netip.Addr, uint16, error) {
	host, p, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, 0, fmt.Errorf("DHT node %q: %w", hostPort, err)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return nil, 0, fmt.Errorf("DHT node %q: the port is not 1 to 65535", hostPort)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, uint16(port), nil
	}
	if grape.IsLocalhost(host) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, uint16(port), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, 0, fmt.Errorf("DHT node %q: %w", hostPort, err)
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, uint16(port), nil
}

// Close stops the node.
func (n *Node) Close() { n.s.Close() }

// Where is the addresses the node started from, for messages.
func (n *Node) Where() string { return n.where }

// walk is what a get walk heard.
type walk struct {
	mu       sync.Mutex
	answered int                      // nodes that replied
	slowest  time.Duration            // the longest a node took to reply
	best     *grape.Answer            // the verified answer chosen so far
	held     map[netip.AddrPort]int64 // node → the seq of the verified mutable item it answered
	seen     map[netip.AddrPort]bool  // nodes the walk asked
	failed   error                    // why the first value that did not check out failed
	first    chan struct{}            // closed when an immutable item checked out
}

// walk asks the nodes closest to target for it, from the starting nodes on, until no
// closer node is left to ask or ctx ends. For an immutable item the first answer that
// checks out ends it at once when stopAtFirst; for a mutable one, of the answers that
// check out the highest seq wins. The returned operation has stopped: its closest nodes,
// with their write tokens, can be read.
func (n *Node) walk(ctx context.Context, target bep44.Target, salt []byte, stopAtFirst bool) (*walk, *traversal.Operation) {
	w := &walk{first: make(chan struct{}), held: make(map[netip.AddrPort]int64), seen: make(map[netip.AddrPort]bool)}
	var once sync.Once
	op := traversal.Start(traversal.OperationInput{
		Target: krpc.ID(target),
		Alpha:  alpha,
		DoQuery: func(qctx context.Context, addr krpc.NodeAddr) traversal.QueryResult {
			// The library spells an IPv4 node both as it is and mapped to IPv6
			// (::ffff:a.b.c.d), depending on where it heard of it: ask each node once.
			ap := unmapped(addr.UDP().AddrPort())
			w.mu.Lock()
			asked := w.seen[ap]
			w.seen[ap] = true
			w.mu.Unlock()
			if asked {
				return traversal.QueryResult{}
			}
			sent := time.Now()
			qctx, cancel := w.patient(qctx, sent)
			defer cancel()
			res := n.s.Get(qctx, dht.NewAddr(addr.UDP()), abep44.Target(target), nil, dht.QueryRateLimiting{NotAny: true})
			r := res.Reply.R
			if res.Err != nil || r == nil {
				return traversal.QueryResult{}
			}
			w.mu.Lock()
			w.answered++
			w.slowest = max(w.slowest, time.Since(sent))
			w.mu.Unlock()
			if r.V != nil {
				if a, err := answer(r, target, salt); err != nil {
					w.mu.Lock()
					if w.failed == nil {
						w.failed = err
					}
					w.mu.Unlock()
				} else {
					w.mu.Lock()
					if w.best == nil || a.Item.Mutable() && a.Item.Seq > w.best.Item.Seq {
						w.best = a
					}
					if a.Item.Mutable() {
						w.held[ap] = a.Item.Seq
					}
					w.mu.Unlock()
					if !a.Item.Mutable() && stopAtFirst {
						once.Do(func() { close(w.first) })
					}
				}
			}
			tqr := res.TraversalQueryResult(addr)
			if len(r.Nodes) == 0 && len(r.Nodes6) == 0 {
				// A grape's node that holds the item answers with it and without the
				// nodes it knows (BEP 44 asks for both): ask it for them, or the walk
				// ends there and misses the other holders, which may hold a newer seq,
				// and the other nodes a put should go to.
				fn := n.s.Query(qctx, dht.NewAddr(addr.UDP()), "find_node", dht.QueryInput{
					MsgArgs:      krpc.MsgArgs{ID: n.s.ID(), Target: krpc.ID(target), Want: []krpc.Want{krpc.WantNodes, krpc.WantNodes6}},
					RateLimiting: dht.QueryRateLimiting{NotAny: true},
				})
				if fr := fn.Reply.R; fn.Err == nil && fr != nil {
					tqr.Nodes, tqr.Nodes6 = fr.Nodes, fr.Nodes6
				}
			}
			// A node that gave no token cannot be written to: keep it out of the closest
			// nodes the walk reports (it still tells of others).
			if _, ok := tqr.ClosestData.(string); !ok {
				tqr.ResponseFrom = nil
			}
			return tqr
		},
		NodeFilter: n.s.TraversalNodeFilter,
	})
	if nodes, err := n.s.TraversalStartingNodes(); err == nil {
		op.AddNodes(nodes)
	}
	select {
	case <-op.Stalled():
	case <-w.first:
	case <-ctx.Done():
	}
	op.Stop()
	<-op.Stopped()
	return w, op
}

// unmapped is ap with an IPv4 address as such, not mapped to IPv6.
func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// patience is how long a query may wait for its answer (see settleFactor).
func (w *walk) patience() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.answered == 0 {
		return queryTimeout
	}
	return min(queryTimeout, max(minSettle, settleFactor*w.slowest))
}

// patient returns ctx for a query sent at sent, ended when it has waited longer than the
// walk's patience, which shrinks as the first answers come in: a starting node that is
// gone is given up once the others have answered.
func (w *walk) patient(ctx context.Context, sent time.Time) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	go func() {
		tick := time.NewTicker(minSettle / 5)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if time.Since(sent) > w.patience() {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// answer is a node's reply to a get as a checked grape.Answer.
func answer(r *krpc.Return, target bep44.Target, salt []byte) (*grape.Answer, error) {
	v, err := byteString(r.V)
	if err != nil {
		return nil, err
	}
	it := bep44.Item{V: v}
	if r.K != [32]byte{} || r.Sig != [64]byte{} {
		if r.Seq == nil {
			return nil, errors.New("a DHT node answered a mutable item without its seq")
		}
		it.K, it.Sig, it.Seq = append([]byte(nil), r.K[:]...), append([]byte(nil), r.Sig[:]...), *r.Seq
		if len(salt) > 0 {
			it.Salt = append([]byte(nil), salt...)
		}
	}
	var token []byte
	if r.Token != nil {
		token = []byte(*r.Token)
	}
	a := grape.NodeAnswer(it, r.ID[:], token)
	if err := grape.Check(a, target, salt); err != nil {
		return nil, err
	}
	return a, nil
}

// byteString reads a bencoded byte string: the only kind of value grenache stores.
func byteString(b []byte) ([]byte, error) {
	n, rest, ok := strings.Cut(string(b), ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size < 0 || n != strconv.Itoa(size) || len(rest) != size {
		return nil, errors.New("a DHT node answered a value that is not a bencoded string")
	}
	return []byte(rest), nil
}

// Get walks the DHT for the item under target and returns the answer chosen (see walk),
// checked. No value that checks out: the first failure, else grape.ErrNotFound when nodes
// answered, else ErrNoAnswer.
func (n *Node) Get(ctx context.Context, target bep44.Target, salt []byte) (*grape.Answer, error) {
	w, _ := n.walk(ctx, target, salt, true)
	switch {
	case w.best != nil:
		return w.best, nil
	case w.failed != nil:
		return nil, w.failed
	case ctx.Err() != nil:
		return nil, fmt.Errorf("get %s from the DHT: %w", target, ctx.Err())
	case w.answered == 0:
		return nil, fmt.Errorf("%w (started from %s)", ErrNoAnswer, n.where)
	}
	return nil, fmt.Errorf("%s: %w", target, grape.ErrNotFound)
}

// Put walks the DHT for the nodes closest to the item's target, then stores it with each
// of them, with its write token. A node's 301 (cas mismatch) or 302 (seq not newer) makes
// the error wrap bep44.ErrCASMismatch or bep44.ErrSeqTooLow, unless the walk saw that
// node hold an older version than another node did: a grape's own node keeps the version
// it held when its grape stored a newer one (with the other nodes only), and would
// otherwise refuse every put that follows the newer one, for ever. Else the put succeeds
// when one node took it, as over a grape. A value longer than BEP 44 allows (a bencoded
// 1000 bytes; other nodes refuse more) is refused before anything is sent, as is cas 0,
// which the library cannot send.
func (n *Node) Put(ctx context.Context, it *bep44.Item, cas *int64) (bep44.Target, error) {
	target := it.Target()
	if err := bep44.CheckBEPValue(it.V); err != nil {
		return target, err
	}
	if cas != nil && *cas == 0 {
		return target, errors.New("cas 0 cannot be sent over --dht (the DHT library leaves a cas of 0 out)")
	}
	w, op := n.walk(ctx, target, it.Salt, false)
	if err := ctx.Err(); err != nil {
		return target, fmt.Errorf("put %s to the DHT: %w", target, err)
	}
	// seq goes with immutable items too, as 0: the library's own nodes refuse a put
	// without it, and the BEP's other nodes ignore it there.
	var seq int64
	args := krpc.MsgArgs{
		ID:  n.s.ID(),
		V:   bencode.Bytes(strconv.Itoa(len(it.V)) + ":" + string(it.V)),
		Seq: &seq,
	}
	if it.Mutable() {
		args.Seq, args.Salt = &it.Seq, it.Salt
		copy(args.K[:], it.K)
		copy(args.Sig[:], it.Sig)
		if cas != nil {
			args.Cas = *cas
		}
	}
	var closest []peer
	op.Closest().Range(func(e k_nearest_nodes.Elem) {
		p := peer{addr: unmapped(e.Addr.AddrPort), token: e.Data.(string)} // walk kept string tokens only
		if slices.ContainsFunc(closest, func(c peer) bool { return c.addr == p.addr }) {
			return // the same node, spelled otherwise
		}
		if seq, ok := w.held[p.addr]; ok && w.best != nil && seq < w.best.Item.Seq {
			p.stale = true
		}
		closest = append(closest, p)
	})
	if len(closest) == 0 {
		if w.answered == 0 {
			return target, fmt.Errorf("%w (started from %s)", ErrNoAnswer, n.where)
		}
		return target, fmt.Errorf("%w: no node gave a write token", ErrNotStored)
	}
	errs := make([]error, len(closest)) // nil: stored
	var wg sync.WaitGroup
	for i, c := range closest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := args
			a.Token = c.token
			qctx, cancel := context.WithTimeout(ctx, queryTimeout)
			defer cancel()
			res := n.s.Query(qctx, dht.NewAddr(net.UDPAddrFromAddrPort(c.addr)), "put", dht.QueryInput{MsgArgs: a, RateLimiting: dht.QueryRateLimiting{NotAny: true}})
			errs[i] = refusal(res)
		}()
	}
	wg.Wait()
	return target, outcome(closest, errs)
}

// peer is a node to store an item with: its address (IP:port) and write token, and
// whether it held an older version than another node did.
type peer struct {
	addr  netip.AddrPort
	token string
	stale bool
}

// Refused is a node's KRPC error answer to a put.
type Refused struct {
	Code int    // the KRPC error code: 301 cas mismatch, 302 seq not newer, 205 value too large...
	Msg  string // the node's words, as sent
}

func (e *Refused) Error() string { return fmt.Sprintf("refused it (KRPC %d %q)", e.Code, e.Msg) }

// refusal is why a put query did not store the item; nil when it did.
func refusal(res dht.QueryResult) error {
	switch {
	case res.Err != nil:
		if errors.Is(res.Err, context.DeadlineExceeded) || errors.Is(res.Err, dht.TransactionTimeout) {
			return errors.New("did not answer")
		}
		return res.Err
	case res.Reply.Y == "e":
		if e := res.Reply.E; e != nil {
			return &Refused{Code: e.Code, Msg: e.Msg}
		}
		return &Refused{Msg: "(an error without code or message)"}
	case res.Reply.R == nil:
		return errors.New("answered neither a result nor an error")
	}
	return nil
}

// outcome is a put's result from what each of the closest nodes did with it (errs[i]:
// nil when peers[i] stored it): a conflict when a node that did not hold an older version
// refused it as one; else success when a node stored it; else a conflict when a node
// refused it as one, else ErrNotStored.
func outcome(peers []peer, errs []error) error {
	stored, conflict, staleConflict := false, 0, 0
	for i, err := range errs {
		var r *Refused
		switch {
		case err == nil:
			stored = true
		case errors.As(err, &r) && (r.Code == 301 || r.Code == 302) && peers[i].stale:
			staleConflict = max(staleConflict, r.Code)
		case errors.As(err, &r) && (r.Code == 301 || r.Code == 302):
			conflict = max(conflict, r.Code) // 302 words it best when both came
		}
	}
	if conflict == 0 && stored {
		return nil
	}
	conflict = cmp.Or(conflict, staleConflict)
	var b strings.Builder
	fmt.Fprintf(&b, "%d nodes", len(peers))
	for i, err := range errs {
		if err == nil {
			err = errors.New("stored it")
		}
		fmt.Fprintf(&b, "; %s %v", peers[i].addr, err)
	}
	switch conflict {
	case 301:
		return fmt.Errorf("a DHT node answered 301: %w: the stored sequence number is not the cas given; re-read the item and try again (%s)", bep44.ErrCASMismatch, b.String())
	case 302:
		return fmt.Errorf("a DHT node answered 302: %w: a node holds this item with an equal or higher sequence number (%s)", bep44.ErrSeqTooLow, b.String())
	}
	return fmt.Errorf("%w (%s)", ErrNotStored, b.String())
}

// Lookup is not offered: grapes keep service announcements.
func (n *Node) Lookup(ctx context.Context, service string) ([]string, error) {
	return nil, fmt.Errorf("lookup: %w", ErrUnsupported)
}

// Announce is not offered: grapes keep service announcements.
func (n *Node) Announce(ctx context.Context, service string, port int) (int, error) {
	return 0, fmt.Errorf("announce: %w", ErrUnsupported)
}
