package grapenet

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"grenache/bep44"
)

// Python is the interpreter that runs scripts/ltnode.py: Debian's own, which
// python3-libtorrent installs its module for (a pyenv or venv python3 on PATH
// does not see it).
const Python = "/usr/bin/python3"

// python is Python, replaced by a test that checks the message when it is missing.
var python = Python

// LibtorrentMissing is what LaunchLibtorrent says when Debian's Python or its
// libtorrent module is missing.
const LibtorrentMissing = "the libtorrent interop node runs on Debian's /usr/bin/python3 with python3-libtorrent: install it (apt-get install -y python3-libtorrent, or make deps as root)"

// ltTimeout bounds each libtorrent command and its start-up, in the node
// (its -timeout) and here (a bit more, for the answer to arrive).
const ltTimeout = 10 * time.Second

// Libtorrent is a libtorrent DHT node (scripts/ltnode.py) on 127.0.0.1,
// bootstrapped from the addresses it was started with and nothing else.
// Its methods send one command at a time.
type Libtorrent struct {
	// Port is its DHT UDP port on 127.0.0.1.
	Port int
	// Version is libtorrent's version string.
	Version string

	mu  sync.Mutex
	p   *proc
	out *bufio.Scanner
	log string
	// broken is set when a command got no answer in time.
	broken error
}

// LTPut is what libtorrent reports of a put.
type LTPut struct {
	Target bep44.Target
	// Seq and Sig are the seq libtorrent chose and its signature (mutable
	// items only): it reads the item first and signs seq = highest + 1.
	Seq int64
	Sig []byte
	// Nodes is the number of nodes that stored the item.
	Nodes int
	// Codes are the KRPC error codes other nodes answered the put with.
	Codes []int
}

// LTRefused is a put that no node stored (or that libtorrent's API cannot
// express, Unsupported).
type LTRefused struct {
	Msg         string
	Codes       []int
	Unsupported bool
}

func (e *LTRefused) Error() string {
	if len(e.Codes) > 0 {
		return fmt.Sprintf("libtorrent: %s (KRPC errors %v)", e.Msg, e.Codes)
	}
	return "libtorrent: " + e.Msg
}

// LaunchLibtorrent starts a libtorrent DHT node bootstrapping from bootstrap
// (HOST:PORT of DHT nodes, e.g. grapes' DHT ports) and waits until one of
// them answered it. The node exits when Stop closes its standard input, or
// when this process ends; Stop kills it by its PID after a bound. Its log
// (standard error) goes to a file in the temporary folder.
func LaunchLibtorrent(bootstrap []string) (*Libtorrent, error) {
	return launchLibtorrent(bootstrap, "")
}

func launchLibtorrent(bootstrap []string, logDir string) (*Libtorrent, error) {
	if len(bootstrap) == 0 {
		return nil, errors.New("libtorrent: no bootstrap address")
	}
	if _, err := os.Stat(python); err != nil {
		return nil, fmt.Errorf("%s is missing: %s", python, LibtorrentMissing)
	}
	if out, err := exec.Command(python, "-c", "import libtorrent").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s cannot import libtorrent (%v: %s): %s", python, err, strings.TrimSpace(string(out)), LibtorrentMissing)
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	if logDir == "" {
		logDir = os.TempDir()
	}
	logf, err := os.CreateTemp(logDir, "ltnode-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(python, filepath.Join(root, "scripts", "ltnode.py"),
		"-timeout", fmt.Sprint(ltTimeout.Seconds()), strings.Join(bootstrap, ","))
	cmd.Dir = root
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := startProc("libtorrent node", cmd)
	if err != nil {
		return nil, err
	}
	l := &Libtorrent{p: p, out: bufio.NewScanner(stdout), log: logf.Name()}
	l.out.Buffer(make([]byte, 64<<10), 1<<20)
	var ready struct {
		Ready   bool   `json:"ready"`
		Port    int    `json:"port"`
		Version string `json:"version"`
		Error   string `json:"error"`
	}
	if err := l.read(&ready, ltTimeout+5*time.Second); err != nil || !ready.Ready {
		l.Stop()
		if err == nil {
			err = errors.New(ready.Error)
		}
		return nil, fmt.Errorf("libtorrent node did not start: %v\n%s", err, l.stderr())
	}
	l.Port, l.Version = ready.Port, ready.Version
	return l, nil
}

// StartLibtorrent is LaunchLibtorrent for tests: it fails the test (never
// skips it) when the node cannot start, and stops the node at cleanup.
func StartLibtorrent(tb testing.TB, bootstrap []string) *Libtorrent {
	tb.Helper()
	l, err := launchLibtorrent(bootstrap, tb.TempDir())
	if err != nil {
		tb.Fatalf("grapenet: %v", err)
	}
	tb.Cleanup(func() {
		if err := l.Stop(); err != nil {
			tb.Errorf("grapenet: %v", err)
		}
	})
	return l
}

// Pid is the node's process ID.
func (l *Libtorrent) Pid() int { return l.p.pid() }

// Stop closes the node's standard input, on which it exits, and kills it by
// its PID if it has not exited after a bound.
func (l *Libtorrent) Stop() error { return l.p.stop(false) }

func (l *Libtorrent) stderr() string {
	b, _ := os.ReadFile(l.log)
	return string(b)
}

// read reads one JSON line into v, waiting at most d.
func (l *Libtorrent) read(v any, d time.Duration) error {
	line := make(chan error, 1)
	go func() {
		if !l.out.Scan() {
			err := l.out.Err()
			if err == nil {
				err = io.EOF
			}
			line <- err
			return
		}
		line <- json.Unmarshal(l.out.Bytes(), v)
	}()
	select {
	case err := <-line:
		return err
	case <-time.After(d):
		return fmt.Errorf("no answer within %v", d)
	}
}

type ltAnswer struct {
	OK          bool   `json:"ok"`
	Error       string `json:"error"`
	Unsupported bool   `json:"unsupported"`
	Found       bool   `json:"found"`
	Target      string `json:"target"`
	V           string `json:"v"`
	K           string `json:"k"`
	Seq         int64  `json:"seq"`
	Sig         string `json:"sig"`
	Nodes       int    `json:"nodes"`
	Codes       []int  `json:"codes"`
	SeqMismatch bool   `json:"seq_mismatch"`
}

func (l *Libtorrent) do(cmd map[string]any) (*ltAnswer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		return nil, fmt.Errorf("libtorrent node unusable since an earlier command got no answer: %w", l.broken)
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	if _, err := l.p.stdin.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("libtorrent node: %w\n%s", err, l.stderr())
	}
	var a ltAnswer
	if err := l.read(&a, ltTimeout+5*time.Second); err != nil {
		// A late answer would be taken for the next command's.
		l.broken = err
		return nil, fmt.Errorf("libtorrent node, %s: %w\n%s", b, err, l.stderr())
	}
	return &a, nil
}

func (l *Libtorrent) put(cmd map[string]any) (*LTPut, error) {
	a, err := l.do(cmd)
	if err != nil {
		return nil, err
	}
	if !a.OK {
		return nil, &LTRefused{Msg: a.Error, Codes: a.Codes, Unsupported: a.Unsupported}
	}
	t, err := bep44.ParseTarget(a.Target)
	if err != nil {
		return nil, fmt.Errorf("libtorrent node answered target %q: %w", a.Target, err)
	}
	sig, err := hex.DecodeString(a.Sig)
	if err != nil {
		return nil, fmt.Errorf("libtorrent node answered sig %q: %w", a.Sig, err)
	}
	return &LTPut{Target: t, Seq: a.Seq, Sig: sig, Nodes: a.Nodes, Codes: a.Codes}, nil
}

// PutImmutable stores v as an immutable item.
func (l *Libtorrent) PutImmutable(v []byte) (*LTPut, error) {
	return l.put(map[string]any{"op": "put", "v": hex.EncodeToString(v)})
}

// PutMutable stores v under the key pair of secret (a 32-byte seed or a
// 64-byte expanded secret) and salt. libtorrent chooses the seq (the highest
// it reads + 1) and signs; its API takes no cas, so a non-nil cas is refused
// with an LTRefused that is Unsupported, and nothing is sent.
func (l *Libtorrent) PutMutable(secret, salt, v []byte, cas *int64) (*LTPut, error) {
	cmd := map[string]any{"op": "put", "sk": hex.EncodeToString(secret), "salt": hex.EncodeToString(salt), "v": hex.EncodeToString(v)}
	if cas != nil {
		cmd["cas"] = *cas
	}
	return l.put(cmd)
}

// GetImmutable fetches the immutable item under target; found is false when
// libtorrent's lookup ended without it.
func (l *Libtorrent) GetImmutable(target bep44.Target) (v []byte, found bool, err error) {
	a, err := l.do(map[string]any{"op": "get", "target": hex.EncodeToString(target[:])})
	if err != nil {
		return nil, false, err
	}
	if !a.OK {
		return nil, false, errors.New("libtorrent: " + a.Error)
	}
	if !a.Found {
		return nil, false, nil
	}
	v, err = hex.DecodeString(a.V)
	return v, true, err
}

// GetMutable fetches the mutable item of pub and salt (libtorrent checks its
// signature); found is false when its lookup ended without one.
func (l *Libtorrent) GetMutable(pub, salt []byte) (it *bep44.Item, found bool, err error) {
	a, err := l.do(map[string]any{"op": "get", "k": hex.EncodeToString(pub), "salt": hex.EncodeToString(salt)})
	if err != nil {
		return nil, false, err
	}
	if !a.OK {
		return nil, false, errors.New("libtorrent: " + a.Error)
	}
	if !a.Found {
		return nil, false, nil
	}
	it = &bep44.Item{K: pub, Salt: salt, Seq: a.Seq}
	if it.V, err = hex.DecodeString(a.V); err == nil {
		it.Sig, err = hex.DecodeString(a.Sig)
	}
	return it, true, err
}

// Log returns what the node wrote on its standard error, for failure messages.
func (l *Libtorrent) Log() string { return l.stderr() }
