package dhtnode

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"

	"grenache/bep44"
	"grenache/grape"
	"grenache/grape/dhtnode/dhttest"
)

func signer(t *testing.T, seed byte) bep44.Signer {
	t.Helper()
	s, err := bep44.NewSigner(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mutable(t *testing.T, s bep44.Signer, salt string, seq int64, v string) *bep44.Item {
	t.Helper()
	var sb []byte
	if salt != "" {
		sb = []byte(salt)
	}
	it, err := bep44.NewMutable(s, sb, seq, []byte(v))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func start(t *testing.T, addrs ...string) *Node {
	t.Helper()
	n, err := Start(context.Background(), addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// Items stored through one node of a network of real nodes (the library's own server)
// are read through another, and the nodes' refusals come back as bep44's errors.
func TestRealNodes(t *testing.T) {
	nw, err := dhttest.Start(6)
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	addrs := nw.Addrs()

	imm, _ := bep44.NewImmutable([]byte("hello over the DHT"))
	if _, err := start(t, addrs[0]).Put(ctx(t), imm, nil); err != nil {
		t.Fatalf("immutable put: %v", err)
	}
	a, err := grape.Fetch(ctx(t), start(t, addrs[5]), imm.Target(), nil)
	if err != nil || string(a.Item.V) != "hello over the DHT" {
		t.Fatalf("immutable get: %v, %+v", err, a)
	}

	s := signer(t, 1)
	for _, seq := range []int64{1, 2} {
		it := mutable(t, s, "salt", seq, "v"+strconv.FormatInt(seq, 10))
		if _, err := start(t, addrs[seq]).Put(ctx(t), it, nil); err != nil {
			t.Fatalf("mutable put seq %d: %v", seq, err)
		}
	}
	target := bep44.MutableTarget(s.PublicKey(), []byte("salt"))
	a, err = grape.Fetch(ctx(t), start(t, addrs[4]), target, []byte("salt"))
	if err != nil || a.Item.Seq != 2 || string(a.Item.V) != "v2" {
		t.Fatalf("mutable get: %v, %+v", err, a)
	}
	if !bytes.Contains(a.Raw, []byte(`"seq":2,`)) || !bytes.HasSuffix(a.Raw, []byte(`"v":"v2"}`)) {
		t.Errorf("raw answer %s", a.Raw)
	}

	_, err = start(t, addrs[3]).Put(ctx(t), mutable(t, s, "salt", 1, "older"), nil)
	if !errors.Is(err, bep44.ErrSeqTooLow) {
		t.Errorf("put of a lower seq: %v, want a 302", err)
	}
	// A cas goes out and the item is stored; the library's own node does not hold a put
	// to it (its store compares cas with the cas the stored item came with, not with its
	// seq), so conflicts are tested with scripted nodes (TestPutRefused), grapes and
	// libtorrent.
	cas := int64(2)
	if _, err = start(t, addrs[2]).Put(ctx(t), mutable(t, s, "salt", 3, "v3"), &cas); err != nil {
		t.Errorf("put with cas: %v", err)
	}
	a, err = grape.Fetch(ctx(t), start(t, addrs[0]), target, []byte("salt"))
	if err != nil || a.Item.Seq != 3 {
		t.Fatalf("mutable get after the put with cas: %v, %+v", err, a)
	}

	_, err = grape.Fetch(ctx(t), start(t, addrs[1]), bep44.MutableTarget(s.PublicKey(), []byte("other")), []byte("other"))
	if !errors.Is(err, grape.ErrNotFound) {
		t.Errorf("get of an item never stored: %v, want not found", err)
	}
}

// The walk starts from the addresses given and from nowhere else: the library's default
// is the public routers, looked up by name.
func TestStartsOnlyFromGiven(t *testing.T) {
	n := start(t, "127.0.0.1:9", "localhost:10", "[::1]:11")
	got, err := n.s.TraversalStartingNodes()
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, a := range got {
		addrs = append(addrs, a.Addr.String())
	}
	want := []string{"127.0.0.1:9", "127.0.0.1:10", "[::1]:11"}
	if !slices.Equal(addrs, want) {
		t.Errorf("starting nodes %q, want %q", addrs, want)
	}
}

func id() (b [20]byte) {
	rand.Read(b[:])
	return b
}

func token(s string) *string { return &s }

func bstr(v string) bencode.Bytes { return bencode.Bytes(strconv.Itoa(len(v)) + ":" + v) }

// holder is a scripted node that holds it (nil: nothing) and answers puts with putErr
// (nil: stored).
func holder(t *testing.T, it *bep44.Item, putErr *krpc.Msg) *dhttest.Fake {
	t.Helper()
	me := id()
	f, err := dhttest.NewFake(func(q *krpc.Msg) *krpc.Msg {
		switch q.Q {
		case "get":
			r := krpc.Return{Token: token("tok")}
			if it != nil {
				r.V = bstr(string(it.V))
				if it.Mutable() {
					copy(r.K[:], it.K)
					copy(r.Sig[:], it.Sig)
					seq := it.Seq
					r.Seq = &seq
				}
			}
			return dhttest.Reply(me, r)
		case "put":
			if putErr != nil {
				return putErr
			}
			return dhttest.Reply(me, krpc.Return{})
		}
		return dhttest.Error(204, "method unknown")
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// A reply with a key and a signature but no seq is a bad answer, not a crash (the
// library's getput.Get dereferences the missing seq).
func TestMutableWithoutSeq(t *testing.T) {
	s := signer(t, 2)
	it := mutable(t, s, "", 4, "no seq")
	me := id()
	f, err := dhttest.NewFake(func(q *krpc.Msg) *krpc.Msg {
		r := krpc.Return{Token: token("t"), Bep44Return: krpc.Bep44Return{V: bstr("no seq")}}
		copy(r.K[:], it.K)
		copy(r.Sig[:], it.Sig)
		return dhttest.Reply(me, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = grape.Fetch(ctx(t), start(t, f.Addr()), it.Target(), nil)
	if err == nil || !strings.Contains(err.Error(), "without its seq") {
		t.Errorf("got %v, want an error naming the missing seq", err)
	}
}

// A put that every node refused is an error (the library's getput.Put returns none),
// naming each node and its words, a conflict when a node refused it as one, unless that
// node held an older version than another and a node took it.
func TestPutRefused(t *testing.T) {
	it, _ := bep44.NewImmutable([]byte("refused"))
	a := holder(t, nil, dhttest.Error(205, "message (v field) too big"))
	b := holder(t, nil, dhttest.Error(202, "server error"))
	_, err := start(t, a.Addr(), b.Addr()).Put(ctx(t), it, nil)
	if !errors.Is(err, ErrNotStored) {
		t.Fatalf("every node refused: %v, want ErrNotStored", err)
	}
	for _, want := range []string{"(2 nodes;", a.Addr() + ` refused it (KRPC 205 "message (v field) too big")`, b.Addr() + ` refused it (KRPC 202`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\ndoes not say %q", err, want)
		}
	}

	s := signer(t, 3)
	m := mutable(t, s, "x", 5, "five")
	seq := holder(t, nil, dhttest.Error(302, "sequence number less than current"))
	_, err = start(t, b.Addr(), seq.Addr()).Put(ctx(t), m, nil)
	if !errors.Is(err, bep44.ErrSeqTooLow) {
		t.Errorf("refused with 302 and 202: %v, want seq too low", err)
	}
	cas := holder(t, nil, dhttest.Error(301, "CAS mismatch"))
	four := int64(4)
	_, err = start(t, cas.Addr(), b.Addr()).Put(ctx(t), m, &four)
	if !errors.Is(err, bep44.ErrCASMismatch) {
		t.Errorf("refused with 301 and 202: %v, want cas mismatch", err)
	}
	if got := cas.Queries(); len(got) < 2 || got[len(got)-1].A.Cas != 4 || *got[len(got)-1].A.Seq != 5 {
		t.Errorf("the put did not carry cas 4 and seq 5: %+v", got)
	}

	// A node that held an older version than another node refuses a put that follows
	// the newer one: it does not make the put fail when another node took it.
	stale := holder(t, mutable(t, s, "x", 3, "three"), dhttest.Error(301, "CAS mismatch"))
	current := holder(t, mutable(t, s, "x", 4, "four"), nil)
	if _, err = start(t, stale.Addr(), current.Addr()).Put(ctx(t), m, &four); err != nil {
		t.Errorf("the node holding seq 4 stored it, the one holding seq 3 refused: %v", err)
	}
	// A node holding the newest version seen that refuses is a conflict, whoever took it.
	newest := holder(t, mutable(t, s, "x", 4, "four"), dhttest.Error(301, "CAS mismatch"))
	_, err = start(t, stale.Addr(), current.Addr(), newest.Addr()).Put(ctx(t), m, &four)
	if !errors.Is(err, bep44.ErrCASMismatch) || !strings.Contains(err.Error(), current.Addr()+" stored it") {
		t.Errorf("a node holding seq 4 refused, another took it: %v, want cas mismatch", err)
	}
	// With no version seen, a refusal from any node is a conflict.
	ok := holder(t, nil, nil)
	if _, err = start(t, ok.Addr(), cas.Addr()).Put(ctx(t), m, &four); !errors.Is(err, bep44.ErrCASMismatch) {
		t.Errorf("one node took it, one refused: %v, want cas mismatch", err)
	}
	if _, err = start(t, ok.Addr()).Put(ctx(t), m, &four); err != nil {
		t.Errorf("a node stored it: %v", err)
	}
}

// Of the values that check out the highest seq wins; values that do not check out are
// passed over, and reported only when none does.
func TestHighestVerifiedSeqWins(t *testing.T) {
	s := signer(t, 4)
	five, seven := mutable(t, s, "k", 5, "five"), mutable(t, s, "k", 7, "seven")
	forged := mutable(t, s, "k", 9, "nine")
	forged.Sig[0] ^= 1
	other := mutable(t, signer(t, 5), "k", 11, "another key")
	nodes := []*dhttest.Fake{holder(t, five, nil), holder(t, forged, nil), holder(t, seven, nil), holder(t, other, nil)}
	var addrs []string
	for _, f := range nodes {
		addrs = append(addrs, f.Addr())
	}
	a, err := grape.Fetch(ctx(t), start(t, addrs...), five.Target(), []byte("k"))
	if err != nil || a.Item.Seq != 7 || string(a.Item.V) != "seven" {
		t.Fatalf("got %+v, %v; want seq 7", a, err)
	}

	_, err = grape.Fetch(ctx(t), start(t, addrs[1]), five.Target(), []byte("k"))
	if !errors.Is(err, bep44.ErrInvalidSignature) || !errors.Is(err, grape.ErrMutable) {
		t.Errorf("only a forged value: %v, want a failed signature", err)
	}
	_, err = grape.Fetch(ctx(t), start(t, addrs[3]), five.Target(), []byte("k"))
	if !errors.Is(err, bep44.ErrTargetMismatch) {
		t.Errorf("only another key's value: %v, want a target mismatch", err)
	}
}

// A value that is not a bencoded string, and an immutable value under another hash, are
// refused.
func TestBadValues(t *testing.T) {
	it, _ := bep44.NewImmutable([]byte("good"))
	for name, v := range map[string]bencode.Bytes{
		"integer":     bencode.Bytes("i5e"),
		"list":        bencode.Bytes("l4:goode"),
		"short":       bencode.Bytes("5:good"),
		"zero padded": bencode.Bytes("04:good"),
	} {
		t.Run(name, func(t *testing.T) {
			me := id()
			f, err := dhttest.NewFake(func(q *krpc.Msg) *krpc.Msg {
				return dhttest.Reply(me, krpc.Return{Bep44Return: krpc.Bep44Return{V: v}})
			})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = grape.Fetch(ctx(t), start(t, f.Addr()), it.Target(), nil)
			if err == nil || errors.Is(err, grape.ErrNotFound) {
				t.Errorf("value %q: %v, want refused", v, err)
			}
		})
	}
	wrong, _ := bep44.NewImmutable([]byte("something else"))
	_, err := grape.Fetch(ctx(t), start(t, holder(t, wrong, nil).Addr()), it.Target(), nil)
	if !errors.Is(err, bep44.ErrTargetMismatch) {
		t.Errorf("another item's value: %v, want a target mismatch", err)
	}
}

// What cannot be sent is refused before anything is: a value over BEP 44's limit, cas 0.
func TestRefusedBeforeSending(t *testing.T) {
	f := holder(t, nil, nil)
	n := start(t, f.Addr())
	big, err := bep44.NewImmutable(bytes.Repeat([]byte("a"), 997))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Put(ctx(t), big, nil); !errors.Is(err, bep44.ErrValueTooLarge) {
		t.Errorf("997 bytes: %v, want too large", err)
	}
	zero := int64(0)
	if _, err := n.Put(ctx(t), mutable(t, signer(t, 6), "", 1, "x"), &zero); err == nil || !strings.Contains(err.Error(), "cas 0") {
		t.Errorf("cas 0: %v", err)
	}
	if q := f.Queries(); len(q) != 0 {
		t.Errorf("%d queries sent", len(q))
	}
	max, _ := bep44.NewImmutable(bytes.Repeat([]byte("a"), 996))
	if _, err := n.Put(ctx(t), max, nil); err != nil {
		t.Errorf("996 bytes: %v", err)
	}
}

// Nothing answering is its own error; nodes answering without the item is not found;
// nodes giving no token cannot be written to.
func TestNoAnswerNotFoundNoToken(t *testing.T) {
	silent, err := dhttest.NewFake(func(*krpc.Msg) *krpc.Msg { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	it, _ := bep44.NewImmutable([]byte("x"))
	if _, err := grape.Fetch(ctx(t), start(t, silent.Addr()), it.Target(), nil); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("silent node: %v, want ErrNoAnswer", err)
	}
	if _, err := grape.Fetch(ctx(t), start(t, holder(t, nil, nil).Addr()), it.Target(), nil); !errors.Is(err, grape.ErrNotFound) {
		t.Errorf("empty node: %v, want not found", err)
	}
	me := id()
	noToken, err := dhttest.NewFake(func(*krpc.Msg) *krpc.Msg { return dhttest.Reply(me, krpc.Return{}) })
	if err != nil {
		t.Fatal(err)
	}
	defer noToken.Close()
	if _, err := start(t, noToken.Addr()).Put(ctx(t), it, nil); !errors.Is(err, ErrNotStored) || !strings.Contains(err.Error(), "token") {
		t.Errorf("no token: %v", err)
	}
}

// Start refuses what is not HOST:PORT.
func TestStartRefuses(t *testing.T) {
	for _, in := range [][]string{nil, {"127.0.0.1"}, {"127.0.0.1:0"}, {"127.0.0.1:65536"}, {"127.0.0.1:x"}} {
		if n, err := Start(context.Background(), in); err == nil {
			n.Close()
			t.Errorf("%q: started", in)
		}
	}
}

// A node that answers queries (StartServing) keeps no items: a put to it is refused,
// so that no item lives in a node that exits with its command.
func TestServingNodeKeepsNothing(t *testing.T) {
	srv, err := StartServing(context.Background(), []string{"127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	it, _ := bep44.NewImmutable([]byte("not kept"))
	_, err = start(t, srv.s.Addr().String()).Put(ctx(t), it, nil)
	if !errors.Is(err, ErrNotStored) || !strings.Contains(err.Error(), "KRPC 201") {
		t.Errorf("put to a serving node: %v, want refused with 201", err)
	}
	if _, err := grape.Fetch(ctx(t), start(t, srv.s.Addr().String()), it.Target(), nil); !errors.Is(err, grape.ErrNotFound) {
		t.Errorf("get from it: %v, want not found", err)
	}
}
