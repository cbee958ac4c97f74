//go:build integration

package applets

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"grenache/grape/grapenet"
)

// killingProxy forwards one request at a time to g and, once the whole
// request has been sent, kills g and closes the client's connection without
// an answer: the grape died in the middle of the put.
func killingProxy(t *testing.T, g *grapenet.Grape) int {
	t.Helper()
	_, gport := g.Addr()
	return faultServer(t, func(c net.Conn) {
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		up, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(gport)))
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		defer up.Close()
		if err := req.Write(up); err != nil {
			t.Errorf("proxy: forwarding the request: %v", err)
			return
		}
		g.Kill(t)
	})
}

// TestFaultsGrapeKilledMidPut: the grape dies after it received the put and
// before it answered. The put fails with exit 1; the next one finds nothing
// listening.
func TestFaultsGrapeKilledMidPut(t *testing.T) {
	t.Parallel()
	for _, put := range [][]string{
		{"hello, killed"},
		{"-m", "-s", "killed", "-n", "1", "hello, killed"},
	} {
		t.Run(strings.Join(put, " "), func(t *testing.T) {
			t.Parallel()
			gn := grapenet.Start(t, 2)
			env := procEnv(t)
			procKeygen(t, env)
			proxy := strconv.Itoa(killingProxy(t, gn.Grapes[0]))
			args := append([]string{"-g", "127.0.0.1", "-p", proxy, "--timeout", faultTimeout, "--connect-timeout", faultConnectTimeout}, put...)
			r := runProc(t, env, "grenache-put", args...)
			expectProc(t, "put through a grape killed mid-put", r, ExitFailure,
				`^grenache-put: error: the grape at 127\.0\.0\.1:`+proxy+` closed the connection without answering\n`)

			_, dead := gn.Grapes[0].Addr()
			args[3] = strconv.Itoa(dead)
			r = runProc(t, env, "grenache-put", args...)
			expectProc(t, "put to the killed grape", r, ExitFailure,
				`^grenache-put: error: cannot connect to a grape at 127\.0\.0\.1:`+args[3]+`: connection refused\n`)
		})
	}
}

// TestFaultsGrapesRestarted: grapes keep items in memory only. After both
// grapes restart, every item is gone: get says "not found", exit 3. So is
// the record of a mutable item's sequence number: a put with a lower one is
// accepted again, and get prints it once told to (--accept-lower-seq).
func TestFaultsGrapesRestarted(t *testing.T) {
	t.Parallel()
	gn := grapenet.Start(t, 2)
	env := procEnv(t)
	procKeygen(t, env)
	p1, p2 := strconv.Itoa(gn.Grapes[0].APIPort), strconv.Itoa(gn.Grapes[1].APIPort)
	opts := func(port string, args ...string) []string {
		return append([]string{"-g", "127.0.0.1", "-p", port, "--timeout", "5s"}, args...)
	}
	putHash := func(args ...string) string {
		t.Helper()
		r := runProc(t, env, "grenache-put", opts(p1, args...)...)
		expectProc(t, "put "+strings.Join(args, " "), r, ExitOK)
		return strings.TrimSpace(r.stdout)
	}
	immutable := putHash("before the restart")
	mutable := putHash("-m", "-s", "restart", "-n", "5", "five")
	for _, p := range []string{p1, p2} {
		expectProc(t, "get immutable before the restart", runProc(t, env, "grenache-get", opts(p, immutable)...), ExitOK)
		expectProc(t, "get mutable before the restart", runProc(t, env, "grenache-get", opts(p, "-s", "restart", mutable)...), ExitOK)
	}

	gn.Restart(t)

	for _, p := range []string{p1, p2} {
		r := runProc(t, env, "grenache-get", opts(p, immutable)...)
		expectProc(t, "get immutable after the restart", r, ExitNotFound,
			`^grenache-get: error: hash `+immutable+` not found\n`, `hint: items expire`)
		r = runProc(t, env, "grenache-get", opts(p, "-s", "restart", mutable)...)
		expectProc(t, "get mutable after the restart", r, ExitNotFound, `^grenache-get: error: hash `+mutable+` not found\n`)
	}
	// The grapes forgot seq 5: seq 1 is stored, and read back.
	if got := putHash("-m", "-s", "restart", "-n", "1", "one"); got != mutable {
		t.Errorf("mutable hash after the restart = %s, want %s", got, mutable)
	}
	// grenache remembers seq 5, so it refuses seq 1 until told to accept it, and
	// from then on remembers seq 1.
	r := runProc(t, env, "grenache-get", opts(p2, "-s", "restart", mutable)...)
	expectProc(t, "get the lower seq after the restart", r, ExitUnverified,
		`^grenache-get: error: the grape answered seq 1 for `+mutable+`, older than seq 5 already seen\n`, `hint: .*--accept-lower-seq`)
	for _, args := range [][]string{{"--accept-lower-seq"}, nil} {
		r = runProc(t, env, "grenache-get", opts(p2, append(args, "-s", "restart", mutable)...)...)
		expectProc(t, "get the lower seq accepted "+strings.Join(args, " "), r, ExitOK)
		if r.stdout != "one\n" {
			t.Errorf("value after the restart = %q, want %q", r.stdout, "one\n")
		}
	}
}
