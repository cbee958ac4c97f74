//go:build integration

package applets

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"grenache/grape/grapenet"
)

// countingProxy forwards every request to g and counts them; it returns its address.
func countingProxy(t *testing.T, g *grapenet.Grape, n *atomic.Int32) string {
	t.Helper()
	u, err := url.Parse(g.URL())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestGrapeListReal: with three real grapes in a -g list, a batch spreads its items
// over them, and with one of them stopped puts and gets, single and batched, go to
// the others.
func TestGrapeListReal(t *testing.T) {
	t.Parallel()
	gn := grapenet.Start(t, 3)
	var counts [3]atomic.Int32
	var proxies [3]string
	for i, g := range gn.Grapes {
		proxies[i] = countingProxy(t, g, &counts[i])
	}
	got := func() [3]int32 { return [3]int32{counts[0].Load(), counts[1].Load(), counts[2].Load()} }
	reset := func() {
		for i := range counts {
			counts[i].Store(0)
		}
	}
	env := procEnv(t)
	var items, hashes strings.Builder
	for i := range 6 {
		fmt.Fprintf(&items, "{\"v\":\"spread %d\"}\n", i)
	}
	run := func(stdin, name string, args ...string) procResult {
		t.Helper()
		r, err := spawnProc(procPath(t, name), env, stdin, processBound, append([]string{"--timeout", "10s"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		if r.code != 0 {
			t.Fatalf("%s %q: %v", name, args, r)
		}
		return r
	}

	// All three up: six items, two to each grape, in turn (one job: no race).
	all := proxies[0] + "," + proxies[1] + "," + proxies[2]
	r := run(items.String(), "grenache-put", "--batch", "--jobs", "1", "-g", all)
	if c := got(); c != [3]int32{2, 2, 2} {
		t.Errorf("batch put: requests per grape %v, want [2 2 2]", c)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		hashes.WriteString(line + "\n")
	}
	reset()
	r = run(hashes.String(), "grenache-get", "--batch", "--jobs", "3", "-g", all)
	if c := got(); c != [3]int32{2, 2, 2} {
		t.Errorf("batch get: requests per grape %v, want [2 2 2]", c)
	}
	for i := range 6 {
		if !strings.Contains(r.stdout, fmt.Sprintf(`"v":"spread %d"`, i)) {
			t.Errorf("batch get: no item %d in\n%s", i, r.stdout)
		}
	}

	// Grape 1 stopped: its own port refuses connections.
	gn.Grapes[1].Kill(t)
	_, port1 := gn.Grapes[1].Addr()
	stopped := "127.0.0.1:" + strconv.Itoa(port1)
	reset()
	r = run("", "grenache-put", "-g", stopped+","+proxies[0]+","+proxies[2], "with one grape stopped")
	hash := strings.TrimSpace(r.stdout)
	if c := got(); c != [3]int32{1, 0, 0} {
		t.Errorf("put: requests per grape %v, want [1 0 0]", c)
	}
	r = run("", "grenache-get", "-g", stopped+","+proxies[2]+","+proxies[0], hash)
	if r.stdout != "with one grape stopped\n" {
		t.Errorf("get: %q", r.stdout)
	}
	if c := got(); c != [3]int32{1, 0, 1} {
		t.Errorf("get: requests per grape %v, want [1 0 1]", c)
	}
	// A batch: the items whose turn is the stopped grape's go to the next one.
	reset()
	r = run(hashes.String(), "grenache-get", "--batch", "--jobs", "2", "-g", proxies[0]+","+stopped+","+proxies[2])
	if c := got(); c != [3]int32{2, 0, 4} {
		t.Errorf("batch get with grape 1 stopped: requests per grape %v, want [2 0 4]", c)
	}
	if n := strings.Count(r.stdout, `"v":"spread `); n != 6 {
		t.Errorf("batch get with grape 1 stopped: %d items, want 6\n%s", n, r.stdout)
	}
}
