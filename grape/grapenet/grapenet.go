// Package grapenet starts real local grapes: for the tests (Start), and for
// the demo, the bench and the scale run through Launch (scripts/grapes,
// scripts/bench, scripts/scale).
//
// Each grape is `node <repo>/scripts/grape.js` (a grenache-grape 1.0.0 node
// that also verifies mutable items) listening on 127.0.0.1 only, on ports
// chosen free at start, bootstrapping to every other grape of the same Net
// and to nothing else. Tests need the npm packages installed once:
// `make grapes` or `npm ci --prefix scripts --no-audit --no-fund`
// (Launch runs the latter itself with Options.Install).
//
// Failing to start is a test failure, never a skip: a test that asks for
// grapes is meant to run against them.
package grapenet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	host = "127.0.0.1"
	// readyTimeout bounds the wait for a started network to answer puts.
	readyTimeout = 15 * time.Second
	// startAttempts covers the race between closing a probed free port
	// and the grape binding it.
	startAttempts = 3
)

// stopTimeout bounds the wait for a started process to exit after SIGTERM (or
// its standard input closing) before it gets SIGKILL; a variable for proc's test.
var stopTimeout = 5 * time.Second

// Net is a running network of grapes.
type Net struct {
	Grapes []*Grape

	root   string // repository root, holding scripts/grape.js
	node   string // path of the node executable
	dir    string // logs
	ownDir bool   // dir was made by Launch, and Stop removes it
	want   int    // number of grapes
}

// Grape is one grape of a Net.
type Grape struct {
	DHTPort, APIPort int

	n   *Net
	idx int
	log string
	p   *proc // nil before it started
}

// Addr returns the host and port of the grape's HTTP API.
func (g *Grape) Addr() (host string, port int) {
	return "127.0.0.1", g.APIPort
}

// URL returns the base URL of the grape's HTTP API, without a trailing slash.
func (g *Grape) URL() string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(g.APIPort))
}

// NodeMissing is what Launch says when there is no node executable.
const NodeMissing = "Node.js runs the grapes: install it (Debian: apt-get install nodejs npm)"

// Options of Launch. The zero value is fine.
type Options struct {
	// Root is the repository root, holding scripts/grape.js; empty: the
	// folder holding go.mod at or above the working directory.
	Root string
	// Dir receives the grapes' logs (grape-0.log, ...); empty: a new
	// temporary folder, which Stop removes.
	Dir string
	// Install runs `npm ci` in scripts/ when grenache-grape is not
	// installed there, its output going to InstallOutput.
	Install       bool
	InstallOutput io.Writer
}

// Launch starts n grapes on free loopback ports, each bootstrapping to all
// the others, and waits until they are connected. On failure it stops what
// it started and the error carries the grapes' logs. The caller stops the
// grapes with Stop; each grape also exits when this process does, as its
// standard input closes.
func Launch(n int, opts Options) (*Net, error) {
	nw, err := prepare(n, opts)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		retry, err := nw.launch()
		if err == nil {
			return nw, nil
		}
		if !retry || attempt == startAttempts {
			nw.Stop()
			return nil, err
		}
	}
}

func prepare(n int, opts Options) (*Net, error) {
	if n < 1 {
		return nil, fmt.Errorf("need at least one grape, got %d", n)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node not found in PATH. " + NodeMissing)
	}
	root := opts.Root
	if root == "" {
		if root, err = repoRoot(); err != nil {
			return nil, err
		}
	}
	modules := filepath.Join(root, "scripts", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "grenache-grape")); err != nil {
		if !opts.Install {
			return nil, fmt.Errorf("grenache-grape is not installed under %s\nhint: run `make grapes` or `npm ci --prefix scripts --no-audit --no-fund` in %s", modules, root)
		}
		if err := install(root, opts.InstallOutput); err != nil {
			return nil, err
		}
	}
	nw := &Net{root: root, node: node, dir: opts.Dir, want: n}
	if nw.dir == "" {
		if nw.dir, err = os.MkdirTemp("", "grapenet-"); err != nil {
			return nil, err
		}
		nw.ownDir = true
	}
	return nw, nil
}

// install runs npm ci in root/scripts from the committed lock file.
func install(root string, out io.Writer) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm not found in PATH. " + NodeMissing)
	}
	if out == nil {
		out = io.Discard
	}
	cmd := exec.Command(npm, "ci", "--prefix", filepath.Join(root, "scripts"), "--no-audit", "--no-fund")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = out, out
	fmt.Fprintf(out, "grapenet: installing the grapes' Node packages: npm ci --prefix scripts --no-audit --no-fund\n")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci --prefix scripts: %w", err)
	}
	return nil
}

// launch makes one attempt on new ports; retry says whether another attempt
// may succeed (a port was taken meanwhile).
func (n *Net) launch() (retry bool, err error) {
	if err := n.pickPorts(n.want); err != nil {
		return false, fmt.Errorf("choosing ports: %w", err)
	}
	err = n.startAll()
	if err == nil {
		err = n.waitReady()
	}
	if err == nil {
		return false, nil
	}
	logs := n.logs()
	n.stopAll()
	return strings.Contains(logs, "EADDRINUSE"), fmt.Errorf("starting %d grapes: %v\n%s", n.want, err, logs)
}

// Start starts n grapes, each bootstrapping to all the others, waits until
// they are connected and registers their stop with tb.Cleanup. It calls
// tb.Fatalf, with the grapes' logs, on any failure.
func Start(tb testing.TB, n int) *Net {
	tb.Helper()
	nw, err := prepare(n, Options{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("grapenet: %v", err)
	}
	tb.Cleanup(func() {
		if err := nw.Stop(); err != nil {
			tb.Errorf("grapenet: %v", err)
		}
	})
	for attempt := 1; ; attempt++ {
		retry, err := nw.launch()
		if err == nil {
			return nw
		}
		if retry && attempt < startAttempts {
			tb.Logf("grapenet: a port was taken meanwhile, retrying with new ports: %v", err)
			continue
		}
		tb.Fatalf("grapenet: %v", err)
	}
}

// Stop stops every grape still running, by its PID: SIGTERM, then SIGKILL
// after a bound. It removes the log folder Launch made. It is safe to call
// more than once.
func (n *Net) Stop() error {
	err := n.stopAll()
	if n.ownDir {
		if rmErr := os.RemoveAll(n.dir); err == nil {
			err = rmErr
		}
	}
	return err
}

func (n *Net) stopAll() error {
	var errs []error
	for _, g := range n.Grapes {
		if err := g.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Dir is the folder of the grapes' logs.
func (n *Net) Dir() string { return n.dir }

// Pid is the grape's process ID; 0 before it started.
func (g *Grape) Pid() int {
	if g.p == nil {
		return 0
	}
	return g.p.pid()
}

// Restart stops all grapes and starts them again on the same ports, then
// waits until they are connected. Restarting only some grapes of a network
// leaves the others holding stale write tokens for minutes, so fault tests
// restart them all.
func (n *Net) Restart(tb testing.TB) {
	tb.Helper()
	if err := n.stopAll(); err != nil {
		tb.Errorf("grapenet: %v", err)
	}
	err := n.startAll()
	if err == nil {
		err = n.waitReady()
	}
	if err != nil {
		logs := n.logs()
		n.stopAll()
		tb.Fatalf("grapenet: restarting %d grapes: %v\n%s", len(n.Grapes), err, logs)
	}
}

// Stop stops this grape alone, by its PID: SIGTERM, then SIGKILL after a
// bound. The others keep running (and keep it in their routing tables until
// their queries to it time out). It is safe to call more than once, and
// Net.Stop skips a grape already stopped.
func (g *Grape) Stop() error {
	if g.p == nil {
		return nil
	}
	return g.p.stop(true)
}

func (g *Grape) exited() bool { return g.p != nil && g.p.exited() }

// Kill sends SIGKILL to the grape and waits for it to exit.
func (g *Grape) Kill(tb testing.TB) {
	tb.Helper()
	if g.p == nil || g.p.exited() {
		return
	}
	if err := g.p.kill(); err != nil {
		tb.Fatalf("grapenet: %v", err)
	}
}

// pickPorts chooses a free TCP port (API) and a free UDP port (DHT) per
// grape by binding port 0 on loopback; all are held until every one is
// chosen so that no two grapes get the same port.
func (n *Net) pickPorts(count int) error {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	n.Grapes = make([]*Grape, count)
	for i := range n.Grapes {
		l, err := net.Listen("tcp", host+":0")
		if err != nil {
			return err
		}
		closers = append(closers, l)
		pc, err := net.ListenPacket("udp", host+":0")
		if err != nil {
			return err
		}
		closers = append(closers, pc)
		n.Grapes[i] = &Grape{
			n:       n,
			idx:     i,
			APIPort: l.Addr().(*net.TCPAddr).Port,
			DHTPort: pc.LocalAddr().(*net.UDPAddr).Port,
			log:     filepath.Join(n.dir, fmt.Sprintf("grape-%d.log", i)),
		}
	}
	return nil
}

func (n *Net) startAll() error {
	for _, g := range n.Grapes {
		if err := g.start(); err != nil {
			return err
		}
	}
	return nil
}

func (g *Grape) start() error {
	var peers []string
	for _, o := range g.n.Grapes {
		if o != g {
			peers = append(peers, net.JoinHostPort(host, strconv.Itoa(o.DHTPort)))
		}
	}
	// Appending keeps the logs of earlier runs across Restart.
	logf, err := os.OpenFile(g.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- grapenet: starting grape %d: dht udp %d, api tcp %d, bootstrap %v\n", g.idx, g.DHTPort, g.APIPort, peers)

	cmd := exec.Command(g.n.node, filepath.Join(g.n.root, "scripts", "grape.js"),
		"-b", host,
		"--dp", strconv.Itoa(g.DHTPort),
		"--aph", strconv.Itoa(g.APIPort),
		"--bn", strings.Join(peers, ","))
	cmd.Dir = g.n.root
	cmd.Env = append(os.Environ(), "GRAPE_EXIT_WITH_STDIN=1")
	cmd.Stdout = logf
	cmd.Stderr = logf
	g.p, err = startProc(fmt.Sprintf("grape %d", g.idx), cmd)
	return err
}

var hexKey = regexp.MustCompile(`^"[0-9a-f]{40}"$`)

// waitReady waits until every grape's API answers and then, with more than
// one grape, until an immutable put through every grape stores the item on
// another node (an unconnected grape answers "No nodes to query"). The puts
// wait for every API, hence every DHT socket, to be up: a put that queries a
// node not yet listening hangs for the DHT's query timeout.
func (n *Net) waitReady() error {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	// An unknown request type is answered "ERR_REQ_NOTFOUND" without
	// touching the DHT.
	ping := []byte(`{"rid":"grapenet","data":null}`)
	probe := []byte(`{"rid":"grapenet","data":{"v":"grapenet readiness probe"}}`)

	deadline := time.Now().Add(readyTimeout)
	last := make([]string, len(n.Grapes))
	for {
		for _, g := range n.Grapes {
			if g.exited() {
				return fmt.Errorf("grape %d (pid %d) exited: %v", g.idx, g.p.pid(), g.p.cmd.ProcessState)
			}
		}
		ready := true
		for i, g := range n.Grapes {
			body, err := post(client, g.URL()+"/grapenet-ping", ping)
			if err != nil {
				last[i], ready = err.Error(), false
				break
			}
			last[i] = string(body)
		}
		for i, g := range n.Grapes {
			if !ready || len(n.Grapes) == 1 {
				break
			}
			body, err := post(client, g.URL()+"/put", probe)
			if err != nil {
				last[i], ready = err.Error(), false
				break
			}
			last[i] = string(body)
			ready = hexKey.Match(body)
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			fmt.Fprintf(&b, "not ready after %v", readyTimeout)
			for i, g := range n.Grapes {
				if last[i] != "" {
					fmt.Fprintf(&b, "; grape %d (%s) last answered %s", i, g.URL(), last[i])
				}
			}
			return errors.New(b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func post(client *http.Client, url string, body []byte) ([]byte, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %q", url, resp.StatusCode, b)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s: not JSON: %q", url, b)
	}
	return b, nil
}

// logs returns the output of every grape, for failure messages.
func (n *Net) logs() string {
	var b strings.Builder
	for _, g := range n.Grapes {
		data, err := os.ReadFile(g.log)
		if err != nil {
			fmt.Fprintf(&b, "----- grape %d log: %v\n", g.idx, err)
			continue
		}
		fmt.Fprintf(&b, "----- grape %d log (%s):\n%s", g.idx, g.log, data)
	}
	return b.String()
}

// repoRoot walks up from the working directory (a package directory under
// `go test`) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory; cannot find scripts/grape.js")
		}
		dir = parent
	}
}
