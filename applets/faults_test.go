package applets

import (
	"bufio"
	"bytes"
	"context"
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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The fault tests run every applet as a process of its own (the test binary,
// which TestMain put on PATH as grenache and grenache-*), so that what they
// check is what a user's shell sees: the exit code, the message on standard
// error, and that the process ends. Every address is on 127.0.0.0/8 and every
// host an IP address, so nothing is looked up in the DNS.

const (
	// Small timeouts keep the faults quick; processBound bounds every
	// process: the larger timeout plus slack. A process still running then
	// has hung, and the test fails.
	faultTimeout        = "1s"
	faultConnectTimeout = "500ms"
	processBound        = 1*time.Second + 5*time.Second
)

// procResult is what an applet process left: its exit code and output.
type procResult struct {
	code           int
	stdout, stderr string
}

func (r procResult) String() string {
	return fmt.Sprintf("exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
}

// procPath finds the applet name (grenache, grenache-put...) on PATH and
// makes sure it is the test binary's copy that TestMain installed, never a
// grenache installed on the machine.
func procPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: %v", name, err)
	}
	if !strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(p))), "testscript-main") {
		t.Fatalf("%s found at %s, not in the folder TestMain puts on PATH", name, p)
	}
	return p
}

// procEnv returns an environment for applet processes: the test's own
// without any GRENACHE_ variable, with HOME and XDG_CONFIG_HOME in fresh
// folders (so no key pair yet), followed by extra.
func procEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GRENACHE_") || name == "HOME" || name == "XDG_CONFIG_HOME" || name == "XDG_STATE_HOME" {
			continue
		}
		env = append(env, kv)
	}
	dir := t.TempDir()
	env = append(env, "HOME="+filepath.Join(dir, "home"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_STATE_HOME="+filepath.Join(dir, "state"))
	return append(env, extra...)
}

// procEnvValue returns the last value of name in env.
func procEnvValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if n, val, ok := strings.Cut(kv, "="); ok && n == name {
			v = val
		}
	}
	return v
}

// spawnProc runs path with args, env and stdin and waits at most bound. It
// returns an error, not a test failure, so that goroutines may call it.
func spawnProc(path string, env []string, stdin string, bound time.Duration, args ...string) (procResult, error) {
	return spawnProcAs(nil, path, env, stdin, bound, args...)
}

// spawnProcAs is spawnProc with the process run as cred's user (nil: ours).
func spawnProcAs(cred *syscall.Credential, path string, env []string, stdin string, bound time.Duration, args ...string) (procResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	r := procResult{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		return r, fmt.Errorf("%s %q did not end within %v (killed)\n%v", filepath.Base(path), args, bound, r)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		return r, fmt.Errorf("%s %q: %v\n%v", filepath.Base(path), args, err, r)
	}
	return r, nil
}

// runProc runs the applet name as a process bounded by processBound.
func runProc(t testing.TB, env []string, name string, args ...string) procResult {
	t.Helper()
	r, err := spawnProc(procPath(t, name), env, "", processBound, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// procKeygen gives env's user a key pair.
func procKeygen(t testing.TB, env []string) {
	t.Helper()
	if r := runProc(t, env, "grenache-keygen"); r.code != 0 {
		t.Fatalf("grenache-keygen: %v", r)
	}
}

// expectProc checks a process's exit code and that its standard error matches
// every pattern. A failure never prints to standard output.
func expectProc(t testing.TB, what string, r procResult, code int, stderr ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d\n%v", what, r.code, code, r)
	}
	if code != 0 && r.stdout != "" {
		t.Errorf("%s: failed but printed %q", what, r.stdout)
	}
	for _, p := range stderr {
		if !regexp.MustCompile(p).MatchString(r.stderr) {
			t.Errorf("%s: stderr does not match %q\n%v", what, p, r)
		}
	}
}

const faultHash = "0000000000000000000000000000000000000000"

// closedPort returns a port on host that nothing listens on: bound, then
// closed. Binding host itself also proves no listener on the wildcard
// address holds it.
func closedPort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// fullBacklog listens on 127.0.0.1 with a backlog of 0, never accepts, and
// queues connections until one more cannot complete: a connect then hangs
// (the kernel drops its SYN), as with a grape host that is down or filtered.
func fullBacklog(t testing.TB) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for i := 0; ; i++ {
		if i == 64 {
			t.Fatalf("the listen queue of %s never filled", addr)
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return port
			}
			t.Fatalf("filling the listen queue of %s: %v", addr, err)
		}
		t.Cleanup(func() { c.Close() })
	}
}

// faultServer accepts connections and hands each to serve, which may
// read, write and then holdConn it; connections are closed at cleanup.
func faultServer(t testing.TB, serve func(c net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().(*net.TCPAddr).Port
}

// holdConn reads and discards what the client sends until the connection closes.
func holdConn(c net.Conn) { io.Copy(io.Discard, c) }

// TestFaultsUnreachable: a grape that refuses, never accepts, accepts and
// never answers, or starts answering and stalls. Each applet ends within its
// timeout with exit 1 and a message naming the address.
func TestFaultsUnreachable(t *testing.T) {
	t.Parallel()
	env := procEnv(t)
	procKeygen(t, env)

	refused := closedPort(t, "127.0.0.1")
	refused2 := closedPort(t, "127.0.0.2")
	backlog := fullBacklog(t)
	silent := faultServer(t, holdConn)
	// Headers promising 100 bytes, then 10 of them, then nothing.
	stalls := faultServer(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n\"012345678")
		holdConn(c)
	})

	refusedMsg := []string{
		`^grenache-\w+: error: cannot connect to a grape at 127\.0\.0\.%d:%d: connection refused\n`,
		`\ngrenache-\w+: hint: is a grape running there\? choose another with -g/--grape and -p/--port\n$`,
	}
	timeoutMsg := []string{
		`^grenache-\w+: error: no answer from the grape at 127\.0\.0\.1:%d within 1s\n`,
		`\ngrenache-\w+: hint: a slow network may need a longer --timeout\n$`,
	}
	connectMsg := []string{
		`^grenache-\w+: error: cannot connect to a grape at 127\.0\.0\.1:%d within 500ms\n`,
		`\ngrenache-\w+: hint: .*--connect-timeout\n$`,
	}

	type fault struct {
		name     string
		host     int // last byte of the 127.0.0.x address
		port     int
		patterns []string
	}
	faults := []fault{
		{"connection refused", 1, refused, refusedMsg},
		{"connection refused on 127.0.0.2", 2, refused2, refusedMsg},
		{"never accepts", 1, backlog, connectMsg},
		{"accepts and never answers", 1, silent, timeoutMsg},
		{"answer stalls after the headers", 1, stalls, timeoutMsg},
	}
	commands := [][]string{
		{"grenache-put", "hello"},
		{"grenache-put", "-m", "-s", "salt", "-n", "1", "hello"},
		{"grenache-get", faultHash},
		{"grenache-get", "-s", "salt", "-r", faultHash},
	}
	for _, f := range faults {
		for _, cmd := range commands {
			t.Run(f.name+"/"+strings.Join(cmd, " "), func(t *testing.T) {
				t.Parallel()
				host := fmt.Sprintf("127.0.0.%d", f.host)
				args := append([]string{"-g", host, "-p", strconv.Itoa(f.port),
					"--timeout", faultTimeout, "--connect-timeout", faultConnectTimeout}, cmd[1:]...)
				r := runProc(t, env, cmd[0], args...)
				var patterns []string
				for _, p := range f.patterns {
					if strings.Count(p, "%d") == 2 {
						p = fmt.Sprintf(p, f.host, f.port)
					} else if strings.Contains(p, "%d") {
						p = fmt.Sprintf(p, f.port)
					}
					patterns = append(patterns, p)
				}
				expectProc(t, strings.Join(cmd, " "), r, ExitFailure, patterns...)
			})
		}
	}
}

// TestFaultsMalformedAddress: an address that cannot be one is invalid input,
// exit 2, refused before anything is sent: the guard listener, which every
// case would reach if it sent anything to 127.0.0.1, sees no connection.
func TestFaultsMalformedAddress(t *testing.T) {
	t.Parallel()
	var connections atomic.Int32
	guard := faultServer(t, func(c net.Conn) {
		connections.Add(1)
		c.Close()
	})
	gp := strconv.Itoa(guard)
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		pattern string
	}{
		{"scheme", nil, []string{"-g", "http://127.0.0.1", "-p", gp},
			`error: grape host "http://127\.0\.0\.1" is not a host name or IP address`},
		// A list of grapes: every entry must be well formed (a port in an entry is
		// allowed: see TestGrapeList).
		{"empty entry", nil, []string{"-g", "127.0.0.1:" + gp + ",,127.0.0.1", "-p", gp},
			`error: grape host "127\.0\.0\.1:` + gp + `,,127\.0\.0\.1" has an empty entry`},
		{"trailing comma", nil, []string{"-g", "127.0.0.1:" + gp + ",", "-p", gp}, `error: grape host ".*" has an empty entry`},
		{"scheme in an entry", nil, []string{"-g", "127.0.0.1:" + gp + ",http://x", "-p", gp},
			`error: grape host "http://x" is not a host name or IP address`},
		{"port 0 in an entry", nil, []string{"-g", "127.0.0.1:0", "-p", gp},
			`error: grape host "127\.0\.0\.1:0": port "0" is not a number from 1 to 65535`},
		{"port too large in an entry", nil, []string{"-g", "127.0.0.1:" + gp + ",127.0.0.1:65536", "-p", gp},
			`error: grape host "127\.0\.0\.1:65536": port "65536" is not a number from 1 to 65535`},
		{"port not a number in an entry", nil, []string{"-g", "127.0.0.1:x" + gp, "-p", gp},
			`error: grape host "127\.0\.0\.1:x` + gp + `" is not a host name or IP address`},
		{"no host before the port", nil, []string{"-g", ":" + gp, "-p", gp}, `error: grape host ":` + gp + `" has no host before its port`},
		{"bad host before the port", nil, []string{"-g", "127.0.0.256:" + gp, "-p", gp},
			`error: grape host "127\.0\.0\.256:` + gp + `" is not HOST:PORT with a host name or IP address`},
		{"unclosed bracket with a port", nil, []string{"-g", "[::1:" + gp, "-p", gp}, `error: grape host "\[::1:` + gp + `" is not a host name`},
		{"text after the bracket", nil, []string{"-g", "[::1]x" + gp, "-p", gp}, `error: grape host "\[::1\]x` + gp + `" is not a host name`},
		{"IPv6 with a port, no brackets, in a list", nil, []string{"-g", "127.0.0.1:" + gp + ",::1::" + gp, "-p", gp},
			`error: grape host "::1::` + gp + `" is not a host name`},
		{"bad entry in GRENACHE_GRAPE", []string{"GRENACHE_GRAPE=127.0.0.1:" + gp + ",127.0.0.1:99999"}, nil,
			`error: GRENACHE_GRAPE "127\.0\.0\.1:99999": port "99999" is not a number from 1 to 65535`},
		{"path", nil, []string{"-g", "127.0.0.1/put", "-p", gp}, `error: grape host "127\.0\.0\.1/put" is not a host name`},
		{"space", nil, []string{"-g", "127.0.0.1 ", "-p", gp}, `error: grape host "127\.0\.0\.1 " is not a host name`},
		{"empty host", nil, []string{"-g", "", "-p", gp}, `error: the grape host is empty`},
		{"unclosed bracket", nil, []string{"-g", "[127.0.0.1", "-p", gp}, `error: grape host "\[127\.0\.0\.1" is not a host name`},
		{"stray bracket", nil, []string{"-g", "127.0.0.1]", "-p", gp}, `error: grape host "127\.0\.0\.1\]" is not a host name`},
		{"bracketed IPv4", nil, []string{"-g", "[127.0.0.1]", "-p", gp}, `error: grape host "\[127\.0\.0\.1\]" is not a host name`},
		{"octet over 255", nil, []string{"-g", "127.0.0.256", "-p", gp}, `error: grape host "127\.0\.0\.256" is not a host name`},
		{"three numbers", nil, []string{"-g", "1.2.3", "-p", gp}, `error: grape host "1\.2\.3" is not a host name`},
		{"port 0", nil, []string{"-g", "127.0.0.1", "-p", "0"}, `error: port "0" is not a number from 1 to 65535`},
		{"port too large", nil, []string{"-g", "127.0.0.1", "-p", "65536"}, `error: port "65536" is not a number from 1 to 65535`},
		{"negative port", nil, []string{"-g", "127.0.0.1", "-p", "-1"}, `error: port "-1" is not a number from 1 to 65535`},
		{"port not a number", nil, []string{"-g", "127.0.0.1", "-p", "http"}, `error: port "http" is not a number from 1 to 65535`},
		{"empty port", nil, []string{"-g", "127.0.0.1", "-p", ""}, `error: port "" is not a number from 1 to 65535`},
		{"GRENACHE_GRAPE", []string{"GRENACHE_GRAPE=http://127.0.0.1:" + gp}, nil,
			`error: GRENACHE_GRAPE "http://127\.0\.0\.1:` + gp + `" is not a host name`},
		{"GRENACHE_PORT", []string{"GRENACHE_GRAPE=127.0.0.1", "GRENACHE_PORT=" + gp + "x"}, nil,
			`error: GRENACHE_PORT "` + gp + `x" is not a number from 1 to 65535\n$`},
		{"GRENACHE_TIMEOUT", []string{"GRENACHE_TIMEOUT=soon"}, []string{"-g", "127.0.0.1", "-p", gp},
			`error: GRENACHE_TIMEOUT "soon" is not a duration`},
		{"GRENACHE_CONNECT_TIMEOUT", []string{"GRENACHE_CONNECT_TIMEOUT=0"}, []string{"-g", "127.0.0.1", "-p", gp},
			`error: GRENACHE_CONNECT_TIMEOUT "0" must be more than zero`},
		{"GRENACHE_TLS", []string{"GRENACHE_TLS=maybe"}, []string{"-g", "127.0.0.1", "-p", gp},
			`error: GRENACHE_TLS "maybe" is not a boolean`},
		{"the option wins over its variable", []string{"GRENACHE_PORT=x"}, []string{"-g", "127.0.0.1", "-p", "y"},
			`error: port "y" is not a number from 1 to 65535\n$`},
		{"timeout overflowing as seconds", nil, []string{"-g", "127.0.0.1", "-p", gp, "--timeout", "1e300"},
			`error: --timeout "1e300" is too large: at most 2562047h0m0s \(about 292 years\)\n$`},
		{"timeout overflowing as a duration", nil, []string{"-g", "127.0.0.1", "-p", gp, "--timeout", "99999999999h"},
			`error: --timeout "99999999999h" is too large`},
		{"connect timeout overflowing", []string{"GRENACHE_CONNECT_TIMEOUT=1e10"}, []string{"-g", "127.0.0.1", "-p", gp},
			`error: GRENACHE_CONNECT_TIMEOUT "1e10" is too large`},
		{"negative timeout", nil, []string{"-g", "127.0.0.1", "-p", gp, "--timeout=-1e400"}, `error: --timeout "-1e400" must be more than zero`},
		{"timeout not a number", nil, []string{"-g", "127.0.0.1", "-p", gp, "--timeout", "NaN"}, `error: --timeout "NaN" is not a duration`},
		{"zero timeout", nil, []string{"-g", "127.0.0.1", "-p", gp, "--timeout", "0"}, `error: --timeout "0" must be more than zero`},
		{"timeout not a duration", nil, []string{"-g", "127.0.0.1", "-p", gp, "--connect-timeout", "soon"},
			`error: --connect-timeout "soon" is not a duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := procEnv(t, tc.env...)
			procKeygen(t, env)
			for _, cmd := range [][]string{
				{"grenache-put", "hello"},
				{"grenache-put", "-m", "-n", "1", "hello"},
				{"grenache-get", faultHash},
			} {
				r := runProc(t, env, cmd[0], append(append([]string{}, tc.args...), cmd[1:]...)...)
				expectProc(t, strings.Join(cmd, " "), r, ExitUsage, `^`+cmd[0]+`: `+`(?:`+tc.pattern+`)`)
			}
		})
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("%d connections reached the guard listener, want none", n)
	}
}
