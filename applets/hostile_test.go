package applets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adrg/xdg"
	"github.com/google/go-cmp/cmp"

	"grenache/grape/grapetest"
)

// The hostile grape: a proxy in front of a grape holding real items that tampers with
// every answer in one way per case. Whatever it changes, grenache prints only what it
// verified (nothing, on a failure), exits with the documented code, says on stderr what
// was wrong, keeps its memory bounded and returns within --timeout. A few cases change
// nothing grenache relies on and show that it still works. The cases are docs/refusals.md's
// list "What grenache refuses to print".

const (
	hostileTimeout = 2 * time.Second
	// stallTimeout is --timeout for the cases that end by it (a grape that never
	// answers, or trickles): short, since each waits for all of it.
	stallTimeout = 500 * time.Millisecond
	// hangBound is how long a run may take before the test calls it a hang: --timeout
	// plus slack for a loaded machine. It bounds a hang; it is no speed assertion.
	hangBound = hostileTimeout + 5*time.Second
	// allocBound bounds what one run may allocate in all (the whole process, proxy
	// included). An answer is read up to 64 KiB; a client that read one of the 50 MB
	// answers whole would pass it three times over. Loading the system's certificates
	// for a TLS case alone takes about 8 MB.
	allocBound = 16 << 20
	// hugeBody is the size of the many-megabytes answers.
	hugeBody = 50 << 20
)

// answer is an HTTP answer as the proxy got it from the grape, and as it will send it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// hostileCase is one way of tampering and what grenache must do about it.
type hostileCase struct {
	name  string
	args  []string // the applet and its arguments; -g, -p and --timeout are added
	stdin string   // standard input
	// tamper changes the grape's answer before the proxy sends it on.
	tamper func(a *answer)
	// handler, when set, answers instead of the proxy; it may call forward. It must
	// return once stop is closed.
	handler func(w http.ResponseWriter, r *http.Request, stop <-chan struct{})
	// raw, when set, serves the connection itself, as a TCP server (not HTTP). It must
	// return once stop is closed.
	raw func(c net.Conn, stop <-chan struct{})
	// tls serves handler (or the proxy) over TLS.
	tls bool
	// closed gives the port of a listener already closed: nothing answers there.
	closed bool

	code   int
	stdout string // exactly; "" for every failure
	stderr string // a regexp that must match somewhere in stderr; "": stderr is empty
	check  func(t *testing.T)
}

// hostileEnv is a grape with real items, stored through Main, and their real answers.
type hostileEnv struct {
	upstream string // base URL of the grape behind the proxy
	trap     string // base URL of a server that no request may reach (Location targets)
	trapHits atomic.Int32

	imm, imm2, mut, salted, mut2 string            // hashes
	answers                      map[string][]byte // the grape's get answer for each hash
}

const (
	immValue    = "hello world"
	imm2Value   = "another value"
	mutValue    = "mutable value"
	saltedValue = "salted value"
	mut2Value   = "another key's value"
	theSalt     = "pepper"
)

// clearGrenacheEnv keeps the caller's GRENACHE_* settings out of in-process runs.
func clearGrenacheEnv(t *testing.T) {
	for _, name := range []string{envGrape, envPort, envTLS, envTimeout, envConnectTimeout} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

// useKeyDirs gives the test its own configuration, home and state folders, and returns
// the configuration folder.
func useKeyDirs(t *testing.T) string {
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	xdg.Reload()
	clearGrenacheEnv(t)
	return config
}

// useConfig switches the configuration folder, hence the key pair.
func useConfig(t *testing.T, dir string) {
	t.Setenv("XDG_CONFIG_HOME", dir)
	xdg.Reload()
}

// newHostileEnv starts a fake grape and stores in it, with Main: two immutable items,
// a mutable and a salted mutable item under one key, and a mutable item under another.
func newHostileEnv(t *testing.T) *hostileEnv {
	srv := grapetest.NewServer()
	t.Cleanup(srv.Close)
	return setupHostile(t, srv.URL, srv.URL)
}

// setupHostile stores the items through the grape at storeURL; the proxy forwards to
// the grape at upstreamURL.
func setupHostile(t *testing.T, storeURL, upstreamURL string) *hostileEnv {
	e := &hostileEnv{upstream: upstreamURL}
	e.startTrap(t)
	e.storeItems(t, portOf(t, storeURL))
	return e
}

func (e *hostileEnv) startTrap(t *testing.T) {
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.trapHits.Add(1)
		io.WriteString(w, `"`+e.imm+`"`)
	}))
	t.Cleanup(trap.Close)
	e.trap = trap.URL
}

// storeItems stores the items through the grape at port and records its answers.
func (e *hostileEnv) storeItems(t *testing.T, port string) {
	t.Helper()
	mustRun := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		full := append([]string{"grenache", args[0], "-g", "127.0.0.1", "-p", port}, args[1:]...)
		if code := Main(full, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("%q: exit %d\n%s", full, code, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	keygen := func() {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main([]string{"grenache", "keygen"}, nil, &out, &errb); code != 0 {
			t.Fatalf("keygen: exit %d\n%s", code, errb.String())
		}
	}
	mine := useKeyDirs(t)
	keygen()
	e.imm = mustRun("put", immValue)
	e.imm2 = mustRun("put", imm2Value)
	e.mut = mustRun("put", "-m", "-n", "7", mutValue)
	e.salted = mustRun("put", "-m", "-n", "8", "-s", theSalt, saltedValue)
	// Another writer's key; later puts sign with the first one, the user's.
	useConfig(t, t.TempDir())
	keygen()
	e.mut2 = mustRun("put", "-m", "-n", "9", mut2Value)
	useConfig(t, mine)

	e.answers = map[string][]byte{}
	for _, h := range []string{e.imm, e.imm2, e.mut, e.mut2} {
		e.answers[h] = e.fetch(t, h, "")
	}
	e.answers[e.salted] = e.fetch(t, e.salted, theSalt)
	for h, a := range e.answers {
		if len(a) == 0 {
			t.Fatalf("the grape has no answer for %s", h)
		}
	}
}

// fetch asks the grape for hash directly, as grenache would.
func (e *hostileEnv) fetch(t *testing.T, hash, salt string) []byte {
	t.Helper()
	data := map[string]string{"hash": hash}
	if salt != "" {
		data["salt"] = salt
	}
	req, _ := json.Marshal(map[string]any{"rid": "hostile", "data": data})
	resp, err := http.Post(e.upstream+"/get", "application/json", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("get %s: HTTP %d, %v", hash, resp.StatusCode, err)
	}
	return b
}

// forward sends the request on to the grape and returns its answer.
func (e *hostileEnv) forward(r *http.Request) (*answer, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	resp, err := http.Post(e.upstream+r.URL.Path, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &answer{status: resp.StatusCode, header: http.Header{}, body: b}, nil
}

func portOf(t *testing.T, url string) string {
	t.Helper()
	i := strings.LastIndexByte(url, ':')
	if i < 0 {
		t.Fatalf("no port in %q", url)
	}
	return url[i+1:]
}

// serve starts what the case answers with and returns its port.
func (e *hostileEnv) serve(t *testing.T, c hostileCase) string {
	stop := make(chan struct{})
	if c.closed {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		return portOf(t, ln.Addr().String())
	}
	if c.raw != nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer conn.Close()
					c.raw(conn, stop)
				}()
			}
		}()
		t.Cleanup(func() {
			close(stop)
			ln.Close()
			<-done
		})
		return portOf(t, ln.Addr().String())
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.handler != nil {
			c.handler(w, r, stop)
			return
		}
		a, err := e.forward(r)
		if err != nil {
			t.Errorf("forwarding to the grape: %v", err)
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		if c.tamper != nil {
			c.tamper(a)
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		w.Write(a.body)
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed TLS handshakes are expected
	if c.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		close(stop)
		srv.CloseClientConnections()
		srv.Close()
	})
	return portOf(t, srv.URL)
}

// hostileResult is what one run of Main did.
type hostileResult struct {
	code           int
	stdout, stderr string
	alloc          uint64 // bytes allocated by the whole process during the run
}

// runInProcess runs Main against port, failing the test if it does not return
// within hangBound.
func runInProcess(t *testing.T, port string, args []string, stdin string, timeout time.Duration) hostileResult {
	t.Helper()
	full := append([]string{"grenache", args[0], "-g", "127.0.0.1", "-p", port,
		"--timeout", timeout.String()}, args[1:]...)
	var stdout, stderr bytes.Buffer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan int, 1)
	go func() { done <- Main(full, strings.NewReader(stdin), &stdout, &stderr) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(hangBound):
		t.Fatalf("%q did not return within %s: a hang", full, hangBound)
	}
	runtime.ReadMemStats(&after)
	return hostileResult{code, stdout.String(), stderr.String(), after.TotalAlloc - before.TotalAlloc}
}

// runHostile runs every case, each against its own proxy.
func (e *hostileEnv) runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	seen := map[string]bool{}
	for i, c := range cases {
		if seen[c.name] {
			t.Fatalf("case %q listed twice", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			port := e.serve(t, c)
			trapBefore := e.trapHits.Load()
			timeout := hostileTimeout
			if c.stderr == reTimeout {
				timeout = stallTimeout
			}
			got := runInProcess(t, port, c.args, c.stdin, timeout)
			type outcome struct {
				Code   int
				Stdout string
			}
			if diff := cmp.Diff(outcome{c.code, c.stdout}, outcome{got.code, got.stdout}); diff != "" {
				t.Errorf("%q: result mismatch (-want +got):\n%s\nstderr:\n%s", c.args, diff, got.stderr)
			}
			if !regexp.MustCompile(c.stderr).MatchString(got.stderr) {
				t.Errorf("%q: stderr does not match %q:\n%s", c.args, c.stderr, got.stderr)
			}
			if c.stderr == "" && got.stderr != "" {
				t.Errorf("%q: stderr not empty:\n%s", c.args, got.stderr)
			}
			if c.code != 0 && !strings.Contains(got.stderr, ": error: ") {
				t.Errorf("%q: exit %d without an error message:\n%s", c.args, got.code, got.stderr)
			}
			if got.alloc > allocBound {
				t.Errorf("%q: allocated %d bytes, want at most %d", c.args, got.alloc, allocBound)
			}
			if n := e.trapHits.Load() - trapBefore; n != 0 {
				t.Errorf("%q: a Location was followed (%d requests)", c.args, n)
			}
			if c.check != nil {
				c.check(t)
			}
			t.Logf("exit %d, %d bytes allocated, stderr: %s", got.code, got.alloc, got.stderr)
			recordHostile(strings.SplitN(t.Name(), "/", 2)[0], c.name, i, got)
		})
	}
}

// Editing answers. A get answer is kept as its fields in order, so that duplicates and
// the order of the grape's answer survive an edit.

type field struct {
	key string
	raw string // the value as JSON text
}

func fieldsOf(body []byte) []field {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		panic(fmt.Sprintf("not a JSON object: %q", body))
	}
	var fs []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			panic(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			panic(err)
		}
		fs = append(fs, field{tok.(string), string(raw)})
	}
	return fs
}

func joinFields(fs []field) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(f.raw)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// edit returns a tamper that changes the fields of a get answer.
func edit(change func(fs []field) []field) func(*answer) {
	return func(a *answer) { a.body = joinFields(change(fieldsOf(a.body))) }
}

// setRaw sets key to the JSON text raw, adding the key when it is absent.
func setRaw(key, raw string) func(*answer) {
	return edit(func(fs []field) []field {
		for i := range fs {
			if fs[i].key == key {
				fs[i].raw = raw
				return fs
			}
		}
		return append(fs, field{key, raw})
	})
}

// setString changes the string value of key.
func setString(key string, change func(string) string) func(*answer) {
	return edit(func(fs []field) []field {
		for i := range fs {
			if fs[i].key == key {
				var s string
				if err := json.Unmarshal([]byte(fs[i].raw), &s); err != nil {
					panic(err)
				}
				b, _ := json.Marshal(change(s))
				fs[i].raw = string(b)
				return fs
			}
		}
		panic("no field " + key)
	})
}

func setNumber(key, text string) func(*answer) { return setRaw(key, text) }

func drop(keys ...string) func(*answer) {
	return edit(func(fs []field) []field {
		var out []field
		for _, f := range fs {
			if !containsString(keys, f.key) {
				out = append(out, f)
			}
		}
		return out
	})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// duplicate repeats key with the JSON text raw, first or after the original.
func duplicate(key, raw string, first bool) func(*answer) {
	return edit(func(fs []field) []field {
		extra := field{key, raw}
		if first {
			return append([]field{extra}, fs...)
		}
		return append(fs, extra)
	})
}

// fieldOf returns the JSON text of key in a get answer.
func fieldOf(body []byte, key string) string {
	for _, f := range fieldsOf(body) {
		if f.key == key {
			return f.raw
		}
	}
	panic("no field " + key)
}

// setBody replaces the whole body.
func setBody(b string) func(*answer) { return func(a *answer) { a.body = []byte(b) } }

// setStatus replaces the status and, with header pairs, adds headers.
func setStatus(code int, header ...string) func(*answer) {
	return func(a *answer) {
		a.status = code
		for i := 0; i+1 < len(header); i += 2 {
			a.header.Set(header[i], header[i+1])
		}
	}
}

// both applies tampers in turn.
func both(ts ...func(*answer)) func(*answer) {
	return func(a *answer) {
		for _, t := range ts {
			t(a)
		}
	}
}

// flipHex changes the last hex digit of s.
func flipHex(s string) string {
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return s[:len(s)-1] + string(repl)
}

// changeByte changes the last byte of s to another ASCII letter.
func changeByte(s string) string {
	last := s[len(s)-1]
	repl := byte('x')
	if last == 'x' {
		repl = 'y'
	}
	return s[:len(s)-1] + string(repl)
}

// jsonQuote is s as a JSON string.
func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// answerOf replaces the body with the grape's own answer for hash.
func (e *hostileEnv) answerOf(hash string) func(*answer) {
	return func(a *answer) { a.body = append([]byte(nil), e.answers[hash]...) }
}
