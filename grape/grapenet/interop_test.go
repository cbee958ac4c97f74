//go:build integration

package grapenet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"grenache/bep44"
	"grenache/grape"
	"grenache/grape/dhtnode"
	"grenache/grape/grapenet"
)

// docs/interop.md is the matrix below as one run saw it. Regenerate it with:
//
//	go test -count=1 -tags integration ./grape/grapenet -run TestInterop -interop-table ../../docs/interop.md
var interopTable = flag.String("interop-table", "", "write the interop matrix (who put, who got, kind, result, times) to this file")

// An interop participant stores and fetches BEP 44 items through one
// implementation. Adding one (e.g. `grenache --dht HOST:PORT`, which exits
// as it does over a grape) is one more entry in TestInterop's list.
type participant interface {
	Name() string
	// Put stores a request's item. A refusal is a putResult, not an error:
	// errors are for a participant that does not work at all.
	Put(t *testing.T, r putRequest) putResult
	// Get fetches the item under target (pub nil: immutable), and checks
	// what comes back (target, signature) before reporting it found.
	Get(t *testing.T, target bep44.Target, pub, salt []byte) getResult
}

type putRequest struct {
	mutable bool
	seed    []byte // ed25519 seed of the signing key (mutable)
	salt    []byte
	v       []byte
	seq     int64
	cas     *int64
}

type putResult struct {
	ok          bool
	target      bep44.Target
	seq         int64  // the seq stored (mutable); libtorrent chooses its own
	code        int    // KRPC code of a refusal when the participant says it (301, 302, 205), else 0
	unsupported bool   // the participant cannot express the request (nothing sent)
	msg         string // what a refusal said
	note        string // what the participant says of a put that worked
}

type getResult struct {
	found bool
	v     []byte
	seq   int64
	msg   string // why nothing usable came back
}

// grapeParticipant puts through one grape's HTTP API and gets through
// another's, so that every get crosses the DHT.
type grapeParticipant struct{ put, get *grapenet.Grape }

func (grapeParticipant) Name() string { return "grape (HTTP API)" }

// grapeCall posts a grape request {rid, data} to g's API at /typ and returns the
// HTTP status and the body.
func grapeCall(t *testing.T, g *grapenet.Grape, typ string, data any) (int, []byte) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"rid": "grapenet-test", "data": data})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(g.URL()+"/"+typ, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s/%s: %v", g.URL(), typ, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s/%s: %v", g.URL(), typ, err)
	}
	return resp.StatusCode, b
}

func (p grapeParticipant) Put(t *testing.T, r putRequest) putResult {
	t.Helper()
	data := map[string]any{"v": string(r.v)}
	var want bep44.Target
	var seq int64
	if r.mutable {
		s, err := bep44.NewSigner(r.seed)
		if err != nil {
			t.Fatal(err)
		}
		it, err := bep44.NewMutable(s, r.salt, r.seq, r.v)
		if err != nil {
			// Over our own limits: sign anyway, the grape decides.
			it = &bep44.Item{V: r.v, K: s.PublicKey(), Salt: r.salt, Seq: r.seq, Sig: s.Sign(bep44.SignedBuffer(r.salt, r.seq, r.v))}
		}
		data["k"], data["sig"], data["seq"] = hex.EncodeToString(it.K), hex.EncodeToString(it.Sig), r.seq
		if len(r.salt) > 0 {
			data["salt"] = string(r.salt)
		}
		if r.cas != nil {
			data["cas"] = *r.cas
		}
		want, seq = bep44.MutableTarget(it.K, r.salt), r.seq
	} else {
		want = bep44.ImmutableTarget(r.v)
	}
	status, body := grapeCall(t, p.put, "put", data)
	if status == http.StatusOK && string(body) == strconv.Quote(hex.EncodeToString(want[:])) {
		return putResult{ok: true, target: want, seq: seq}
	}
	res := putResult{target: want, msg: strings.Trim(string(body), `"`)}
	if status == 301 || status == 302 {
		res.code = status
	}
	return res
}

func (p grapeParticipant) Get(t *testing.T, target bep44.Target, pub, salt []byte) getResult {
	t.Helper()
	status, body := grapeCall(t, p.get, "get", map[string]any{"hash": hex.EncodeToString(target[:]), "salt": string(salt)})
	if status != http.StatusOK {
		return getResult{msg: fmt.Sprintf("HTTP %d %q", status, body)}
	}
	if len(body) == 0 {
		return getResult{msg: "not found"}
	}
	var a struct {
		V   *string `json:"v"`
		K   string  `json:"k"`
		Seq int64   `json:"seq"`
		Sig string  `json:"sig"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.V == nil {
		return getResult{msg: fmt.Sprintf("answer %q", body)}
	}
	it := &bep44.Item{V: []byte(*a.V)}
	if pub != nil {
		it.K, it.Salt, it.Seq = pub, salt, a.Seq
		it.Sig, _ = hex.DecodeString(a.Sig)
		if a.K != hex.EncodeToString(pub) {
			return getResult{msg: "answer carries key " + a.K}
		}
	}
	if err := checkItem(it, target); err != nil {
		return getResult{msg: err.Error()}
	}
	return getResult{found: true, v: it.V, seq: it.Seq}
}

// checkItem is Item.Check without the size limits, which are among the
// things measured here.
func checkItem(it *bep44.Item, target bep44.Target) error {
	if it.Target() != target {
		return fmt.Errorf("item hashes to %x, not %x", it.Target(), target)
	}
	if it.Mutable() && !bep44.Verify(it.K, it.Salt, it.Seq, it.V, it.Sig) {
		return errors.New("signature does not verify")
	}
	return nil
}

// ltParticipant is a libtorrent DHT node bootstrapped from the grapes.
type ltParticipant struct{ n *grapenet.Libtorrent }

func (p ltParticipant) Name() string { return "libtorrent " + p.n.Version }

func (p ltParticipant) Put(t *testing.T, r putRequest) putResult {
	t.Helper()
	var (
		got *grapenet.LTPut
		err error
	)
	if r.mutable {
		got, err = p.n.PutMutable(r.seed, r.salt, r.v, r.cas)
	} else {
		got, err = p.n.PutImmutable(r.v)
	}
	var refused *grapenet.LTRefused
	if errors.As(err, &refused) {
		res := putResult{unsupported: refused.Unsupported, msg: refused.Msg}
		if len(refused.Codes) > 0 {
			res.code = refused.Codes[0]
			res.msg = fmt.Sprintf("%s (KRPC %v)", refused.Msg, refused.Codes)
		}
		return res
	}
	if err != nil {
		t.Fatal(err)
	}
	stored := fmt.Sprintf(" (stored on %d nodes", got.Nodes)
	if len(got.Codes) > 0 {
		stored += fmt.Sprintf("; KRPC errors %v", got.Codes)
	}
	stored += ")"
	if r.mutable && got.Seq != r.seq {
		// libtorrent picks seq = highest read + 1: the matrix asks for
		// exactly that, so a difference is a finding.
		return putResult{target: got.Target, seq: got.Seq, msg: fmt.Sprintf("libtorrent stored seq %d, not %d", got.Seq, r.seq)}
	}
	return putResult{ok: true, target: got.Target, seq: got.Seq, note: stored}
}

func (p ltParticipant) Get(t *testing.T, target bep44.Target, pub, salt []byte) getResult {
	t.Helper()
	if pub == nil {
		v, found, err := p.n.GetImmutable(target)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			return getResult{msg: "not found"}
		}
		if err := checkItem(&bep44.Item{V: v}, target); err != nil {
			return getResult{msg: err.Error()}
		}
		return getResult{found: true, v: v}
	}
	it, found, err := p.n.GetMutable(pub, salt)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return getResult{msg: "not found"}
	}
	if err := checkItem(it, target); err != nil {
		return getResult{msg: err.Error()}
	}
	return getResult{found: true, v: it.V, seq: it.Seq}
}

// dhtParticipant is grenache's own DHT transport (grape/dhtnode, what put and get
// --dht run): one node for the whole matrix, as one put --batch or get --batch is,
// bootstrapped from both grapes' DHT ports. It answers queries (dhtnode.StartServing):
// the read-only node a command starts is listed by the grapes all the same, and
// libtorrent's puts then wait for it and time out (seen: every libtorrent put after the
// first --dht cell gave no answer within 10 s).
type dhtParticipant struct{ n *dhtnode.Node }

func (dhtParticipant) Name() string { return "grenache --dht" }

func (p dhtParticipant) Put(t *testing.T, r putRequest) putResult {
	t.Helper()
	it, err := bep44.NewImmutable(r.v)
	if r.mutable {
		s, serr := bep44.NewSigner(r.seed)
		if serr != nil {
			t.Fatal(serr)
		}
		it, err = bep44.NewMutable(s, r.salt, r.seq, r.v)
	}
	if err != nil {
		return putResult{unsupported: true, msg: "refused before sending: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	target, err := grape.Store(ctx, p.n, it, r.cas)
	if err != nil {
		return putResult{target: target, code: bep44.Code(err), msg: err.Error()}
	}
	return putResult{ok: true, target: target, seq: it.Seq}
}

func (p dhtParticipant) Get(t *testing.T, target bep44.Target, pub, salt []byte) getResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := grape.Fetch(ctx, p.n, target, salt)
	if err != nil {
		return getResult{msg: err.Error()}
	}
	if pub != nil && !bytes.Equal(a.Item.K, pub) {
		return getResult{msg: fmt.Sprintf("answer carries key %x", a.Item.K)}
	}
	if err := checkItem(&a.Item, target); err != nil {
		return getResult{msg: err.Error()}
	}
	return getResult{found: true, v: a.Item.V, seq: a.Item.Seq}
}

// An interop kind is one put-then-get scenario; check says whether the
// cell passes and what the table shows.
type interopKind struct {
	name string
	// strict kinds must work (or refuse, for cas) in every cell; the
	// others (sizes) are measured: any outcome is recorded, but what is
	// found must be what was put.
	strict bool
	run    func(t *testing.T, put, get participant) (result string, getTime time.Duration)
}

func randomValue(t *testing.T, prefix string, n int) []byte {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	v := []byte(prefix + " " + hex.EncodeToString(b) + " ")
	for len(v) < n {
		v = append(v, 'x')
	}
	return v[:n]
}

func newSeed(t *testing.T) []byte {
	t.Helper()
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	return seed
}

func publicKey(t *testing.T, seed []byte) []byte {
	s, err := bep44.NewSigner(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey()
}

// putGet puts r through put and gets it through get; the result says what
// happened, and fails the test when strict and it did not work.
func putGet(t *testing.T, put, get participant, r putRequest, strict bool) (string, time.Duration) {
	t.Helper()
	pr := put.Put(t, r)
	if !pr.ok {
		if strict {
			t.Errorf("put through %s: refused: %s", put.Name(), pr.msg)
		}
		return "put refused: " + pr.msg, 0
	}
	var pub []byte
	if r.mutable {
		pub = publicKey(t, r.seed)
	}
	start := time.Now()
	gr := get.Get(t, pr.target, pub, r.salt)
	took := time.Since(start)
	switch {
	case !gr.found:
		if strict {
			t.Errorf("get through %s of what %s put: %s", get.Name(), put.Name(), gr.msg)
		}
		return "put ok; get: " + gr.msg, took
	case !bytes.Equal(gr.v, r.v) || (r.mutable && gr.seq != pr.seq):
		t.Errorf("get through %s: got %d bytes seq %d, want %d bytes seq %d", get.Name(), len(gr.v), gr.seq, len(r.v), pr.seq)
		return fmt.Sprintf("got other item (%d bytes, seq %d)", len(gr.v), gr.seq), took
	}
	return "ok" + pr.note, took
}

var interopKinds = []interopKind{
	{name: "immutable", strict: true, run: func(t *testing.T, put, get participant) (string, time.Duration) {
		return putGet(t, put, get, putRequest{v: randomValue(t, "immutable", 40)}, true)
	}},
	{name: "mutable", strict: true, run: func(t *testing.T, put, get participant) (string, time.Duration) {
		return putGet(t, put, get, putRequest{mutable: true, seed: newSeed(t), v: randomValue(t, "mutable", 40), seq: 1}, true)
	}},
	{name: "mutable, salted", strict: true, run: func(t *testing.T, put, get participant) (string, time.Duration) {
		return putGet(t, put, get, putRequest{mutable: true, seed: newSeed(t), salt: []byte("interop-salt"), v: randomValue(t, "salted", 40), seq: 1}, true)
	}},
	{name: "CAS conflict (seq 1 stored, then seq 2 with cas 5)", strict: true, run: casConflict},
	{name: "immutable, empty value", run: func(t *testing.T, put, get participant) (string, time.Duration) {
		return putGet(t, put, get, putRequest{v: []byte{}}, false)
	}},
	sizeKind(false, 996), sizeKind(false, 997), sizeKind(false, 999), sizeKind(false, 1000),
	sizeKind(true, 996), sizeKind(true, 997), sizeKind(true, 999),
}

func sizeKind(mutable bool, n int) interopKind {
	name := fmt.Sprintf("immutable, %d-byte value (bencoded %d)", n, n+len(strconv.Itoa(n))+1)
	if mutable {
		name = "mutable, " + name[len("immutable, "):]
	}
	return interopKind{name: name, run: func(t *testing.T, put, get participant) (string, time.Duration) {
		r := putRequest{v: randomValue(t, "size", n)}
		if mutable {
			r.mutable, r.seed, r.seq = true, newSeed(t), 1
		}
		return putGet(t, put, get, r, false)
	}}
}

// casConflict stores seq 1 through put, then asks put to replace it with
// seq 2 under a wrong cas; the stored item must stay seq 1 through get.
func casConflict(t *testing.T, put, get participant) (string, time.Duration) {
	seed := newSeed(t)
	salt := []byte("cas")
	before := randomValue(t, "before", 40)
	first := put.Put(t, putRequest{mutable: true, seed: seed, salt: salt, v: before, seq: 1})
	if !first.ok {
		t.Errorf("put through %s: first put refused: %s", put.Name(), first.msg)
		return "first put refused: " + first.msg, 0
	}
	cas := int64(5)
	second := put.Put(t, putRequest{mutable: true, seed: seed, salt: salt, v: randomValue(t, "after", 40), seq: 2, cas: &cas})
	var result string
	switch {
	case second.ok:
		t.Errorf("put through %s with a wrong cas was stored (seq %d)", put.Name(), second.seq)
		result = "wrong cas stored!"
	case second.unsupported:
		result = "cannot send a cas: " + second.msg
	case second.code == 301:
		result = "refused, 301"
	default:
		t.Errorf("put through %s with a wrong cas: refused without 301: %q", put.Name(), second.msg)
		result = "refused: " + second.msg
	}
	start := time.Now()
	gr := get.Get(t, first.target, publicKey(t, seed), salt)
	took := time.Since(start)
	if !gr.found || !bytes.Equal(gr.v, before) || gr.seq != first.seq {
		t.Errorf("get through %s after the refused put: found %v, seq %d (want seq %d, unchanged): %s", get.Name(), gr.found, gr.seq, first.seq, gr.msg)
		return result + "; stored item changed or lost", took
	}
	return strings.TrimSpace(first.note+" "+result) + "; seq 1 unchanged", took
}

type interopCell struct {
	put, get, kind, result string
	getTime                time.Duration
}

// TestInterop puts through each participant and gets through every other:
// real grapes (their HTTP API over bittorrent-dht) and a libtorrent node
// bootstrapped from the grapes' DHT ports, and grenache's own DHT transport, all on
// loopback.
func TestInterop(t *testing.T) {
	nw := grapenet.Start(t, 2)
	var boot []string
	for _, g := range nw.Grapes {
		boot = append(boot, net.JoinHostPort("127.0.0.1", strconv.Itoa(g.DHTPort)))
	}
	lt := grapenet.StartLibtorrent(t, boot)
	t.Logf("libtorrent %s on udp 127.0.0.1:%d (pid %d), grapes' DHT ports %v", lt.Version, lt.Port, lt.Pid(), boot)

	dn, err := dhtnode.StartServing(context.Background(), boot)
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	participants := []participant{
		grapeParticipant{put: nw.Grapes[0], get: nw.Grapes[1]},
		ltParticipant{n: lt},
		dhtParticipant{n: dn},
	}
	var cells []interopCell
	start := time.Now()
	for _, k := range interopKinds {
		for _, p := range participants {
			for _, g := range participants {
				if p == g {
					continue
				}
				t.Run(k.name+"/"+p.Name()+" to "+g.Name(), func(t *testing.T) {
					res, took := k.run(t, p, g)
					t.Logf("%s; get %v", res, took.Round(time.Microsecond))
					cells = append(cells, interopCell{p.Name(), g.Name(), k.name, res, took})
				})
			}
		}
	}
	if t.Failed() {
		t.Logf("libtorrent node's log:\n%s", lt.Log())
	}
	t.Logf("matrix: %d cells in %v", len(cells), time.Since(start).Round(time.Millisecond))
	if *interopTable != "" {
		if t.Failed() {
			t.Fatalf("-interop-table: not writing %s from a failed run", *interopTable)
		}
		if err := writeInteropTable(*interopTable, lt.Version, cells); err != nil {
			t.Fatal(err)
		}
	}
}

func writeInteropTable(path, version string, cells []interopCell) error {
	var b strings.Builder
	b.WriteString("# Interop matrix\n\n")
	b.WriteString("Written by `go test -count=1 -tags integration ./grape/grapenet -run TestInterop -interop-table ../../docs/interop.md`\n")
	b.WriteString("(TestInterop, grape/grapenet/interop_test.go) from one run on loopback: two grapes\n")
	b.WriteString("(grenache-grape 1.0.0 over bittorrent-dht, scripts/grape.js) and one libtorrent\n")
	fmt.Fprintf(&b, "%s node (Debian's python3-libtorrent, scripts/ltnode.py) bootstrapped from the grapes' DHT ports,\n", version)
	b.WriteString("and grenache's DHT transport (grape/dhtnode, what `put/get --dht` run; one node for the matrix, as a --batch\n")
	b.WriteString("process is, bootstrapped from both grapes' DHT ports, answering queries: with the read-only node of a command,\n")
	b.WriteString("which the grapes list anyway, libtorrent's puts wait for it and time out). \"grape\" puts through one grape's HTTP API and gets\n")
	b.WriteString("through the other's. Every item found was\n")
	b.WriteString("checked (target, signature) and compared with what was put. Get times are one run's, wall clock.\n\n")
	b.WriteString("| kind | put through | get through | result | get time |\n| --- | --- | --- | --- | --- |\n")
	for _, c := range cells {
		took := "—"
		if c.getTime > 0 {
			took = fmt.Sprintf("%.1f ms", float64(c.getTime.Microseconds())/1000)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.kind, c.put, c.get, strings.ReplaceAll(c.result, "|", `\|`), took)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
