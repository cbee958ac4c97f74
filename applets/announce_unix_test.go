//go:build unix

package applets

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"grenache/grape/grapetest"
)

// appletProc is an applet running in a process of its own: this test binary
// started as grenache-NAME, which TestMain runs as that applet.
type appletProc struct {
	cmd    *exec.Cmd
	stderr syncBuffer
	done   chan struct{} // closed once the process has been waited for
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startApplet starts grenache-NAME with args and stdin (nil: none); the
// process is killed at the end of the test if it still runs.
func startApplet(t *testing.T, stdin *os.File, name string, args ...string) *appletProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &appletProc{done: make(chan struct{})}
	p.cmd = &exec.Cmd{Path: exe, Args: append([]string{"grenache-" + name}, args...), Stderr: &p.stderr}
	if stdin != nil {
		p.cmd.Stdin = stdin
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// running reports whether the process has not ended.
func (p *appletProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stopBound bounds how long a process may take to end after a signal before
// the test calls it a hang. It is no speed assertion: a -race build alone
// sleeps a second before it exits (GORACE atexit_sleep_ms).
const stopBound = 5 * time.Second

// stop sends sig and returns the exit code; the test fails if the process has
// not ended within stopBound.
func (p *appletProc) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v: %v", sig, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopBound):
		t.Fatalf("still running %s after %v; stderr:\n%s", stopBound, sig, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	for end := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// lookupFinds reports whether lookup through the grape on port prints peer
// among the peers of service.
func lookupFinds(t *testing.T, port, service, peer string) bool {
	t.Helper()
	code, out, _ := runMainT(t, "", "lookup", "-g", "127.0.0.1", "-p", port, "-a", service)
	return code == 0 && strings.Contains(" "+strings.TrimSpace(out)+" ", " "+peer+" ")
}

// testEvery runs announce --every 200ms through the grape on announcePort,
// whose announces count counts: it announces at once and again after each
// wait (drawn in 100..300 ms), lookup through lookupPort finds the service,
// and SIGTERM, or SIGINT, ends it at once with exit 0.
func testEvery(t *testing.T, announcePort, lookupPort string, count func() int) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			service := "every:" + strings.ReplaceAll(sig.String(), " ", "-")
			before := count()
			start := time.Now()
			p := startApplet(t, nil, "announce", "-g", "127.0.0.1", "-p", announcePort, "--every", "200ms", service+",4100")
			if !eventually(5*time.Second, func() bool { return count() > before }) {
				t.Fatalf("no announce within 5s; stderr:\n%s", p.stderr.String())
			}
			if !eventually(5*time.Second, func() bool { return lookupFinds(t, lookupPort, service, "127.0.0.1:4100") }) {
				t.Fatalf("lookup through port %s does not find %s", lookupPort, service)
			}
			// Announced again (a hang bound, no rate), then a few waits more.
			if !eventually(5*time.Second, func() bool { return count()-before >= 2 }) {
				t.Fatalf("not announced again within 5s; stderr:\n%s", p.stderr.String())
			}
			time.Sleep(500 * time.Millisecond)
			// No wait is under 100 ms (0.5 x 200 ms): at most one announce per 100 ms since
			// the start, however slow the machine.
			n, elapsed := count()-before, time.Since(start)
			if most := 1 + int(elapsed/(100*time.Millisecond)); n > most {
				t.Errorf("%d announces in %s, want at most %d", n, elapsed.Round(time.Millisecond), most)
			}
			if !p.running() {
				t.Fatalf("announce --every ended by itself; stderr:\n%s", p.stderr.String())
			}
			if code := p.stop(t, sig); code != 0 {
				t.Errorf("after %v: exit %d, want 0", sig, code)
			}
			if s := p.stderr.String(); s != "" {
				t.Errorf("stderr: %q, want nothing", s)
			}
			t.Logf("%d announces in %s", n, elapsed.Round(time.Millisecond))
		})
	}
}

// testFIFO feeds announce from a FIFO opened for reading and writing, as
// `grenache-announce <>FIFO` does (it never sees the end of its input), a
// line at a time: each is announced, and found by lookup through lookupPort,
// before the next is written.
func testFIFO(t *testing.T, announcePort, lookupPort string) {
	fifo := filepath.Join(t.TempDir(), "announce")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	rw, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	p := startApplet(t, rw, "announce", "-g", "127.0.0.1", "-p", announcePort)
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	lines := []struct{ line, service, peer string }{
		{"# services, one at a time\n", "", ""},
		{"fifo:one,4201\n", "fifo:one", "127.0.0.1:4201"},
		{"fifo:two , 4202 ; with a comment\n", "fifo:two", "127.0.0.1:4202"},
		{"fifo:three,4203\n", "fifo:three", "127.0.0.1:4203"},
	}
	for i, l := range lines {
		if l.service != "" && lookupFinds(t, lookupPort, l.service, l.peer) {
			t.Fatalf("%s is found before its line was written", l.service)
		}
		if _, err := w.WriteString(l.line); err != nil {
			t.Fatal(err)
		}
		if l.service == "" {
			continue
		}
		if !eventually(5*time.Second, func() bool { return lookupFinds(t, lookupPort, l.service, l.peer) }) {
			t.Fatalf("line %d (%q) not announced within 5s of being written; stderr:\n%s", i+1, l.line, p.stderr.String())
		}
	}
	// Closing the writer is no end of input: the process holds the FIFO open
	// for writing too, and waits for more.
	w.Close()
	time.Sleep(200 * time.Millisecond)
	if !p.running() {
		t.Fatalf("announce ended although its FIFO is still open; stderr:\n%s", p.stderr.String())
	}
	if s := p.stderr.String(); s != "" {
		t.Errorf("stderr: %q, want nothing", s)
	}
}

func TestAnnounceEvery(t *testing.T) {
	srv := grapetest.NewServer()
	t.Cleanup(srv.Close)
	port := portOf(t, srv.URL)
	testEvery(t, port, port, srv.Announces)
}

func TestAnnounceFIFO(t *testing.T) {
	srv := grapetest.NewServer()
	t.Cleanup(srv.Close)
	port := portOf(t, srv.URL)
	testFIFO(t, port, port)
}

// A signal ends --every at once even while an announce is waiting for the
// grape: the request is cancelled, and the exit code is 0.
func TestAnnounceEveryInFlight(t *testing.T) {
	var got atomic.Int32
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		got.Add(1)
		select { // never answers
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first
	p := startApplet(t, nil, "announce", "-p", portOf(t, srv.URL), "--timeout", "60s", "--every", "200ms", "svc,1")
	if !eventually(5*time.Second, func() bool { return got.Load() > 0 }) {
		t.Fatalf("no request within 5s; stderr:\n%s", p.stderr.String())
	}
	// The request waits for a grape that never answers, with --timeout 60s: only
	// its cancellation lets the process end within stop's bound.
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM during an announce: exit %d, want 0", code)
	}
	if s := p.stderr.String(); s != "" {
		t.Errorf("stderr: %q, want nothing", s)
	}
}

// A failed announce in the loop is reported and the loop goes on; a hint is
// given once.
func TestAnnounceEveryFailing(t *testing.T) {
	srv := grapetest.NewServer()
	t.Cleanup(srv.Close)
	srv.Answer("/announce", http.StatusOK, "0")
	p := startApplet(t, nil, "announce", "-p", portOf(t, srv.URL), "--every", "100ms", "svc,1")
	const msg = "grenache-announce: error: service svc has not been indexed"
	if !eventually(5*time.Second, func() bool { return strings.Count(p.stderr.String(), msg) >= 3 }) {
		t.Fatalf("not 3 failures reported within 5s; stderr:\n%s", p.stderr.String())
	}
	if !p.running() {
		t.Fatal("the loop ended on failures")
	}
	srv.Answer("/announce", 0, "")
	code := p.stop(t, syscall.SIGTERM)
	if code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	if n := strings.Count(p.stderr.String(), "hint:"); n != 1 {
		t.Errorf("%d hints, want 1:\n%s", n, p.stderr.String())
	}
}

// With --every, lines read from standard input join the announcements made
// again; the end of input does not end the loop.
func TestAnnounceEveryStdin(t *testing.T) {
	srv := grapetest.NewServer()
	t.Cleanup(srv.Close)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := startApplet(t, r, "announce", "-p", portOf(t, srv.URL), "--every", "100ms")
	w.WriteString("late,4301\n")
	w.Close()
	if !eventually(5*time.Second, func() bool { return srv.Announces() >= 4 }) {
		t.Fatalf("not announced again within 5s; stderr:\n%s", p.stderr.String())
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 || !lookupFinds(t, portOf(t, srv.URL), "late", "127.0.0.1:4301") {
		t.Errorf("exit %d; stderr:\n%s", code, p.stderr.String())
	}
}
