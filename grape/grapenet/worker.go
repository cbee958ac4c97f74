package grapenet

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"
)

// Worker is a running Grenache RPC worker: `node <repo>/scripts/worker.js`,
// grenache-nodejs-http's PeerRPCServer listening on 127.0.0.1 only and
// announcing its service through one grape of a Net (see the script for the
// actions it answers). It needs grenache-nodejs-http and grenache-nodejs-link,
// which the same `npm ci` installs.
type Worker struct {
	Addr    string // 127.0.0.1:PORT
	Service string
	Name    string // what its whoami action answers

	log string
	p   *proc
}

// workerReady is the line worker.js prints once a grape took its announcement.
var workerReady = regexp.MustCompile(`(?m)^worker ready: (127\.0\.0\.1:[0-9]+) `)

// LaunchWorker starts a worker named name for service, announcing through g,
// and waits until every grape of the network finds it by lookup. On failure
// it stops the worker and the error carries its log. The caller stops it with
// Stop; it also exits when this process does, as its standard input closes.
func (n *Net) LaunchWorker(g *Grape, service, name string) (*Worker, error) {
	if _, err := os.Stat(filepath.Join(n.root, "scripts", "node_modules", "grenache-nodejs-http")); err != nil {
		return nil, fmt.Errorf("grenache-nodejs-http is not installed under %s/scripts/node_modules\nhint: run `make grapes` or `npm ci --prefix scripts --no-audit --no-fund` in %s", n.root, n.root)
	}
	logf, err := os.CreateTemp(n.dir, "worker-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	w := &Worker{Service: service, Name: name, log: logf.Name()}
	cmd := exec.Command(n.node, filepath.Join(n.root, "scripts", "worker.js"),
		"--grape", g.URL(), "--service", service, "--name", name)
	cmd.Dir = n.root
	cmd.Env = append(os.Environ(), "GRAPE_EXIT_WITH_STDIN=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	if w.p, err = startProc("worker "+name, cmd); err != nil {
		return nil, err
	}
	if err := w.waitReady(n); err != nil {
		w.Stop()
		data, _ := os.ReadFile(w.log)
		return nil, fmt.Errorf("starting worker %s for %s: %v\n----- worker log (%s):\n%s", name, service, err, w.log, data)
	}
	return w, nil
}

// StartWorker is LaunchWorker for a test: it calls tb.Fatalf on failure and
// registers the worker's stop with tb.Cleanup.
func (n *Net) StartWorker(tb testing.TB, g *Grape, service, name string) *Worker {
	tb.Helper()
	w, err := n.LaunchWorker(g, service, name)
	if err != nil {
		tb.Fatalf("grapenet: %v", err)
	}
	tb.Cleanup(func() {
		if err := w.Stop(); err != nil {
			tb.Errorf("grapenet: %v", err)
		}
	})
	return w
}

// waitReady waits for the ready line, then until every grape's lookup of the
// service lists the worker.
func (w *Worker) waitReady(n *Net) error {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	body, _ := json.Marshal(map[string]any{"rid": "grapenet", "data": w.Service})
	for {
		if w.p.exited() {
			return fmt.Errorf("worker exited: %v", w.p.cmd.ProcessState)
		}
		if w.Addr == "" {
			if data, err := os.ReadFile(w.log); err == nil {
				if m := workerReady.FindSubmatch(data); m != nil {
					w.Addr = string(m[1])
				}
			}
		}
		found := w.Addr != ""
		for _, g := range n.Grapes {
			if !found {
				break
			}
			b, err := post(client, g.URL()+"/lookup", body)
			var peers []string
			if err != nil || json.Unmarshal(b, &peers) != nil || !slices.Contains(peers, w.Addr) {
				found = false
			}
		}
		if found {
			return nil
		}
		if time.Now().After(deadline) {
			if w.Addr == "" {
				return fmt.Errorf("no ready line after %v", readyTimeout)
			}
			return fmt.Errorf("not found by every grape's lookup after %v", readyTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pid is the worker's process ID.
func (w *Worker) Pid() int { return w.p.pid() }

// Stop stops the worker by its PID: SIGTERM, then SIGKILL after a bound. Its
// announcement stays in the grapes until it expires. Safe to call more than once.
func (w *Worker) Stop() error { return w.p.stop(true) }
