//go:build integration

package grapenet_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"grenache/grape/grapenet"
)

var client = &http.Client{Timeout: 10 * time.Second}

// post sends a grape request with plain net/http (grapeCall) and returns the raw
// body of an HTTP 200 answer.
func post(t *testing.T, g *grapenet.Grape, typ string, data any) []byte {
	t.Helper()
	status, b := grapeCall(t, g, typ, data)
	if status != http.StatusOK {
		t.Fatalf("POST %s/%s: HTTP %d %q", g.URL(), typ, status, b)
	}
	return b
}

func quoted(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type item struct {
	V   string `json:"v"`
	K   string `json:"k,omitempty"`
	Seq int64  `json:"seq,omitempty"`
	Sig string `json:"sig,omitempty"`
}

func getItem(t *testing.T, g *grapenet.Grape, data any) item {
	t.Helper()
	b := post(t, g, "get", data)
	var it item
	if err := json.Unmarshal(b, &it); err != nil {
		t.Fatalf("get from %s: %v in %q", g.URL(), err, b)
	}
	return it
}

// putGetImmutable stores "hello world" through from and reads it through to.
func putGetImmutable(t *testing.T, from, to *grapenet.Grape) {
	t.Helper()
	const want = "6d33adc2b6b2c14c3036feefb7fedbca1a880527" // sha1("11:hello world")
	got := post(t, from, "put", map[string]any{"v": "hello world"})
	if diff := cmp.Diff(quoted(want), string(got)); diff != "" {
		t.Fatalf("immutable put answer mismatch (-want +got):\n%s", diff)
	}
	gotItem := getItem(t, to, map[string]any{"hash": want, "cache": false})
	if diff := cmp.Diff(item{V: "hello world"}, gotItem); diff != "" {
		t.Errorf("immutable get mismatch (-want +got):\n%s", diff)
	}
}

// putGetMutable stores a signed item with a new key through from and reads it
// through to: only works when the receiving grape verifies signatures.
func putGetMutable(t *testing.T, from, to *grapenet.Grape) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(priv, []byte("3:seqi1e1:v5:hello"))
	target := sha1.Sum(pub)
	want := item{V: "hello", K: hex.EncodeToString(pub), Seq: 1, Sig: hex.EncodeToString(sig)}

	got := post(t, from, "put", map[string]any{"v": want.V, "seq": want.Seq, "k": want.K, "sig": want.Sig})
	if diff := cmp.Diff(quoted(hex.EncodeToString(target[:])), string(got)); diff != "" {
		t.Fatalf("mutable put answer mismatch (-want +got):\n%s", diff)
	}
	gotItem := getItem(t, to, map[string]any{"hash": hex.EncodeToString(target[:]), "cache": false})
	if diff := cmp.Diff(want, gotItem); diff != "" {
		t.Errorf("mutable get mismatch (-want +got):\n%s", diff)
	}
}

func TestStartPutGet(t *testing.T) {
	n := grapenet.Start(t, 2)
	if len(n.Grapes) != 2 {
		t.Fatalf("got %d grapes, want 2", len(n.Grapes))
	}
	g0, g1 := n.Grapes[0], n.Grapes[1]
	if g0.APIPort == g1.APIPort || g0.DHTPort == g1.DHTPort {
		t.Fatalf("grapes share ports: dht %d %d, api %d %d", g0.DHTPort, g1.DHTPort, g0.APIPort, g1.APIPort)
	}
	host, port := g0.Addr()
	if diff := cmp.Diff([]any{"127.0.0.1", g0.APIPort}, []any{host, port}); diff != "" {
		t.Errorf("Addr mismatch (-want +got):\n%s", diff)
	}

	t.Run("immutable", func(t *testing.T) { putGetImmutable(t, g0, g1) })
	t.Run("mutable", func(t *testing.T) { putGetMutable(t, g0, g1) })
	t.Run("mutable reverse", func(t *testing.T) { putGetMutable(t, g1, g0) })
}

func TestKillAndRestart(t *testing.T) {
	n := grapenet.Start(t, 2)
	ports := func() [][2]int {
		var p [][2]int
		for _, g := range n.Grapes {
			p = append(p, [2]int{g.DHTPort, g.APIPort})
		}
		return p
	}
	before := ports()

	n.Grapes[1].Kill(t)
	if _, err := client.Post(n.Grapes[1].URL()+"/get", "application/json", bytes.NewReader([]byte(`{}`))); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("killed grape's API: got error %v, want connection refused", err)
	}

	n.Restart(t)
	if diff := cmp.Diff(before, ports()); diff != "" {
		t.Errorf("ports after Restart mismatch (-want +got):\n%s", diff)
	}
	putGetImmutable(t, n.Grapes[1], n.Grapes[0])
	putGetMutable(t, n.Grapes[0], n.Grapes[1])

	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := client.Post(n.Grapes[0].URL()+"/get", "application/json", bytes.NewReader([]byte(`{}`))); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("stopped grape's API: got error %v, want connection refused", err)
	}
}

// TestLaunchStop: the API the grapes command and the bench use, without a
// testing.TB: Launch starts connected grapes, Stop stops them by PID and
// removes the log folder Launch made.
func TestLaunchStop(t *testing.T) {
	n, err := grapenet.Launch(2, grapenet.Options{})
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			n.Stop()
		}
	})
	for i, g := range n.Grapes {
		if g.Pid() <= 0 {
			t.Errorf("grape %d: pid %d", i, g.Pid())
		}
		if _, err := os.Stat(filepath.Join(n.Dir(), fmt.Sprintf("grape-%d.log", i))); err != nil {
			t.Errorf("grape %d log: %v", i, err)
		}
	}
	putGetMutable(t, n.Grapes[0], n.Grapes[1])

	stopped = true
	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for i, g := range n.Grapes {
		if _, err := client.Post(g.URL()+"/get", "application/json", bytes.NewReader([]byte(`{}`))); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("stopped grape %d's API: got error %v, want connection refused", i, err)
		}
		if err := syscall.Kill(g.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("stopped grape %d (pid %d): kill -0 gave %v, want no such process", i, g.Pid(), err)
		}
	}
	if _, err := os.Stat(n.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("log folder %s after Stop: %v, want it removed", n.Dir(), err)
	}
	if err := n.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestLaunchWithoutNode: without node on PATH, Launch says what runs the
// grapes and how to install it.
func TestLaunchWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	n, err := grapenet.Launch(2, grapenet.Options{Install: true})
	if err == nil {
		n.Stop()
		t.Fatal("Launch without node on PATH succeeded")
	}
	if want := "Node.js runs the grapes: install it (Debian: apt-get install nodejs npm)"; !strings.Contains(err.Error(), want) {
		t.Errorf("Launch without node: %q, want it to contain %q", err, want)
	}
}

// TestGrapeStop: Grape.Stop stops that grape alone, by its PID, without a
// testing.TB (scripts/scale stops a third of its network with it); the
// others still answer, a second Stop is a no-op, and Net.Stop skips it.
func TestGrapeStop(t *testing.T) {
	n, err := grapenet.Launch(3, grapenet.Options{})
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(func() { n.Stop() })
	stopped := n.Grapes[1]
	if err := stopped.Stop(); err != nil {
		t.Fatalf("Grape.Stop: %v", err)
	}
	if _, err := client.Post(stopped.URL()+"/get", "application/json", bytes.NewReader([]byte(`{}`))); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("stopped grape's API: got error %v, want connection refused", err)
	}
	if err := syscall.Kill(stopped.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("stopped grape (pid %d): kill -0 gave %v, want no such process", stopped.Pid(), err)
	}
	for _, i := range []int{0, 2} {
		if err := syscall.Kill(n.Grapes[i].Pid(), 0); err != nil {
			t.Errorf("grape %d (pid %d) after another grape stopped: kill -0 gave %v", i, n.Grapes[i].Pid(), err)
		}
	}
	putGetImmutable(t, n.Grapes[0], n.Grapes[2])
	if err := stopped.Stop(); err != nil {
		t.Errorf("second Grape.Stop: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Errorf("Net.Stop after Grape.Stop: %v", err)
	}
}
