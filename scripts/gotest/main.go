// Command gotest runs `go test -json ARGS...` and shows progress in a few
// lines: each package's result as it finishes (as go test prints it), each
// top-level test that took a second or more, every 30 seconds the tests still
// running, and the whole output of whatever failed.
//
//	go run ./scripts/gotest -race -count=1 ./...
//
// Its exit code is go test's. The go command is $GO, or go on PATH.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.Command(goCmd, append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fatal(err)
	}
	// Ctrl-C reaches go test too (same process group): read on until it ends.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt, syscall.SIGTERM)
	fmt.Fprintf(os.Stderr, "gotest: %s\n", strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	p := newProgress(os.Stdout, time.Now)
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.showRunning()
			case <-stop:
				return
			}
		}
	}()
	failed := p.read(out)
	close(stop)
	err = cmd.Wait()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(max(ee.ExitCode(), 1))
		}
		fatal(err)
	}
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "gotest: error: %v\n", err)
	os.Exit(1)
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time        time.Time
	Action      string
	Package     string
	ImportPath  string // build-output, build-fail
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

// slowTest is how long a top-level test runs before its end is shown.
const slowTest = time.Second

type progress struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	start   time.Time
	output  map[string][]string  // package → lines, each "test\x00line"
	fails   map[string]bool      // "package test" of each failed test
	running map[string]time.Time // "package test" → start or continue, top-level tests only
	failed  bool
}

func newProgress(w io.Writer, now func() time.Time) *progress {
	return &progress{w: w, now: now, start: now(), output: map[string][]string{}, fails: map[string]bool{}, running: map[string]time.Time{}}
}

// read consumes the event stream and reports whether anything failed.
func (p *progress) read(r io.Reader) bool {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		p.line(sc.Bytes())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

func (p *progress) line(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var e event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil {
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	top := e.Test != "" && !strings.Contains(e.Test, "/")
	switch e.Action {
	case "build-output":
		fmt.Fprint(p.w, e.Output)
	case "build-fail":
		p.failed = true
	case "output":
		p.output[e.Package] = append(p.output[e.Package], e.Test+"\x00"+e.Output)
	case "run", "cont":
		if top {
			p.running[e.Package+" "+e.Test] = p.now()
		}
	case "pause":
		// A parallel test waiting for its turn is not running.
		delete(p.running, e.Package+" "+e.Test)
	case "pass", "fail", "skip":
		if e.Action == "fail" {
			p.failed = true
			p.fails[e.Package+" "+e.Test] = true
		}
		if e.Test == "" {
			p.packageDone(e)
			return
		}
		if top {
			delete(p.running, e.Package+" "+e.Test)
			if e.Action != "fail" && e.Elapsed >= slowTest.Seconds() {
				fmt.Fprintf(p.w, "    %s %s %.1fs\n", e.Package, e.Test, e.Elapsed)
			}
		}
	}
}

// packageDone prints the package's result line, preceded, if it failed, by
// the output of its failed tests and its own output.
func (p *progress) packageDone(e event) {
	lines := p.output[e.Package]
	delete(p.output, e.Package)
	if e.Action == "fail" {
		for _, l := range lines {
			test, text, _ := strings.Cut(l, "\x00")
			if (test == "" || p.fails[e.Package+" "+test]) && !noise(text) {
				fmt.Fprint(p.w, text)
			}
		}
		if e.FailedBuild != "" {
			fmt.Fprintf(p.w, "FAIL\t%s [build failed]\n", e.Package)
		}
		return
	}
	// The last line of a package's own output is go test's summary:
	// "ok  \tpkg\t1.2s" or "?   \tpkg\t[no test files]".
	for i := len(lines) - 1; i >= 0; i-- {
		test, text, _ := strings.Cut(lines[i], "\x00")
		if test == "" && (strings.HasPrefix(text, "ok  ") || strings.HasPrefix(text, "?   ")) {
			fmt.Fprint(p.w, text)
			return
		}
	}
	fmt.Fprintf(p.w, "%s\t%s\t%.3fs\n", e.Action, e.Package, e.Elapsed)
}

func noise(text string) bool {
	t := strings.TrimSpace(text)
	return strings.HasPrefix(t, "=== RUN") || strings.HasPrefix(t, "=== PAUSE") || strings.HasPrefix(t, "=== CONT") || t == "PASS"
}

// showRunning prints the top-level tests still running, longest first.
func (p *progress) showRunning() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.running) == 0 {
		return
	}
	now := p.now()
	var names []string
	for n := range p.running {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return p.running[a].Compare(p.running[b]) })
	for i, n := range names {
		names[i] = fmt.Sprintf("%s (%.0fs)", n, now.Sub(p.running[n]).Seconds())
	}
	if len(names) > 4 {
		names = append(names[:4], fmt.Sprintf("and %d more", len(names)-4))
	}
	fmt.Fprintf(p.w, "  %.0fs: running %s\n", now.Sub(p.start).Seconds(), strings.Join(names, ", "))
}
