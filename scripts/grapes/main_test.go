//go:build integration

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const nodeMissing = "Node.js runs the grapes: install it (Debian: apt-get install nodejs npm)"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// build builds the command into a temporary folder.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "grapes")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var assignment = regexp.MustCompile(`^(GRAPE[0-9]+_PORT|GRENACHE_PORT)=([0-9]+)$`)

// ports reads the command's standard output to its end: one assignment a line.
func ports(t *testing.T, stdout io.Reader) map[string]int {
	t.Helper()
	got := map[string]int{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		m := assignment.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("stdout line %q is not a port assignment", sc.Text())
		}
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	return got
}

func post(port int, typ, body string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post("http://127.0.0.1:"+strconv.Itoa(port)+"/"+typ, "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// checkNetwork: an item put through grape 1 is read through grape 2.
func checkNetwork(t *testing.T, p map[string]int) {
	t.Helper()
	if len(p) != 3 || p["GRAPE1_PORT"] == 0 || p["GRAPE2_PORT"] == 0 || p["GRENACHE_PORT"] != p["GRAPE1_PORT"] || p["GRAPE1_PORT"] == p["GRAPE2_PORT"] {
		t.Fatalf("assignments %v, want GRAPE1_PORT, GRAPE2_PORT and GRENACHE_PORT=GRAPE1_PORT", p)
	}
	const hash = "6d33adc2b6b2c14c3036feefb7fedbca1a880527" // sha1("11:hello world")
	if got, err := post(p["GRAPE1_PORT"], "put", `{"rid":"t","data":{"v":"hello world"}}`); err != nil || got != `"`+hash+`"` {
		t.Fatalf("put through grape 1: %q %v", got, err)
	}
	if got, err := post(p["GRAPE2_PORT"], "get", `{"rid":"t","data":{"hash":"`+hash+`","cache":false}}`); err != nil || !strings.Contains(got, `"v":"hello world"`) {
		t.Fatalf("get through grape 2: %q %v", got, err)
	}
}

func checkStopped(t *testing.T, p map[string]int) {
	t.Helper()
	for _, name := range []string{"GRAPE1_PORT", "GRAPE2_PORT"} {
		if _, err := post(p[name], "get", `{}`); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s %d after the stop: %v, want connection refused", name, p[name], err)
		}
	}
}

func wait(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("grapes: %v\n%s", err, stderr)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("grapes did not stop\n%s", stderr)
	}
}

// start runs the command from the repository root with stdin as given.
func start(t *testing.T, bin string, stdin io.Reader) (*exec.Cmd, map[string]int, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, "-n", "2")
	cmd.Dir = repoRoot(t)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	})
	return cmd, ports(t, stdout), &stderr
}

// TestStopWhenStdinCloses: the demo's way: a pipe on standard input, read
// the ports up to the end of standard output, close the pipe.
func TestStopWhenStdinCloses(t *testing.T) {
	bin := build(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd, p, stderr := start(t, bin, r)
	r.Close()
	checkNetwork(t, p)
	w.Close()
	wait(t, cmd, stderr)
	checkStopped(t, p)
	if !strings.Contains(stderr.String(), "standard input closed: stopping the grapes") {
		t.Errorf("stderr lacks the reason of the stop:\n%s", stderr)
	}
}

// TestStopOnSignal: with /dev/null on standard input (a background job of a
// script) the grapes stay until SIGTERM.
func TestStopOnSignal(t *testing.T) {
	bin := build(t)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd, p, stderr := start(t, bin, devnull)
	time.Sleep(300 * time.Millisecond)
	checkNetwork(t, p)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wait(t, cmd, stderr)
	checkStopped(t, p)
}

// TestWithoutNode: the command, make grapes, make demo and make test say
// what runs the grapes and how to install it, rather than failing on a
// missing npm or node.
func TestWithoutNode(t *testing.T) {
	bin := build(t)
	emptyPath := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = repoRoot(t)
	cmd.Env = []string{"PATH=" + emptyPath, "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "grapes: error: ") || !strings.Contains(string(out), nodeMissing) {
		t.Errorf("grapes without node: %v, output %q; want exit 1 and %q", err, out, nodeMissing)
	}

	mk, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("make: %v", err)
	}
	for _, target := range []string{"grapes", "demo", "test"} {
		cmd := exec.Command(mk, "-s", "-C", repoRoot(t), target)
		cmd.Env = []string{"PATH=" + emptyPath, "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "make: "+nodeMissing) || strings.Contains(string(out), "No such file") {
			t.Errorf("make %s without node: %v, output %q; want a failure that says %q", target, err, out, nodeMissing)
		}
	}
}

// TestDemoWithDefaultPortTaken: the demo runs while something (the grapes
// a user started by hand, say) holds the default port 30002.
func TestDemoWithDefaultPortTaken(t *testing.T) {
	root := repoRoot(t)
	for _, port := range []string{"30001", "30002"} {
		// Taken by us, or already by someone else: either way, taken.
		if l, err := net.Listen("tcp", "127.0.0.1:"+port); err == nil {
			defer l.Close()
		}
	}
	bin := filepath.Join(t.TempDir(), "grenache")
	if out, err := exec.Command("go", "build", "-o", bin, "grenache").CombinedOutput(); err != nil {
		t.Fatalf("go build grenache: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "demo.sh"), bin)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo.sh: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	for _, want := range []string{"\n$ grenache-get --salt sys:mem:available \"$mem_hash\"\n", "exit code 3\n", "demo: all examples ran against the local grapes\n"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, &stdout)
		}
	}
}
