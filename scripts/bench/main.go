// Command bench measures grenache against its floors on a local grape network of its own.
//
// For each operation (immutable put, salted mutable put, immutable get, salted mutable
// get, --version) it runs, interleaved round-robin so that drift hits all alike: the
// grenache binary as a process; curl as a one-shot process posting the very request body
// grenache sends (the predecessor's way); and an in-process keep-alive HTTP client sending
// the same bodies back to back (the grapes' own time). It adds the floors of starting a
// process at all (/bin/true and a static Go hello world), the binary's size, the peak RSS
// of a get, what the package initializers cost, and, when the binary has --batch, 1000
// items in one process against 1000 processes and the in-process client.
//
// It prints markdown on standard output and writes OUT/bench.json and OUT/bench.csv.
// Run it from the repository root after make build (make bench does both).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"grenache/bep44"
	"grenache/grape"
	"grenache/keystore"
)

type config struct {
	bin       string
	scripts   string
	out       string
	goBench   string
	runs      int
	warmup    int
	batchN    int
	batchReps int
	jobs      int
	apiBase   int
	dhtBase   int
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "./grenache", "the grenache binary to measure")
	flag.StringVar(&c.scripts, "scripts", "scripts", "folder of grapes.sh")
	flag.StringVar(&c.out, "out", "bench-results", "folder for bench.json and bench.csv")
	flag.StringVar(&c.goBench, "gobench", "", "output of go test -bench to include, if any")
	flag.IntVar(&c.runs, "runs", 100, "measured runs of each operation and client (at least 50)")
	flag.IntVar(&c.warmup, "warmup", 3, "rounds run first and not measured")
	flag.IntVar(&c.batchN, "batch", 1000, "items of the batch measurement (0: skip it)")
	flag.IntVar(&c.batchReps, "batch-reps", 3, "repetitions of the batch measurement")
	flag.IntVar(&c.jobs, "jobs", 8, "requests in flight for --batch and the in-process client")
	flag.IntVar(&c.apiBase, "api-base", 32000, "grape i's HTTP API listens on api-base+i")
	flag.IntVar(&c.dhtBase, "dht-base", 22000, "grape i's DHT listens on dht-base+i")
	flag.Parse()
	if c.runs < 1 || c.batchN < 0 || c.jobs < 1 {
		fatal(errors.New("-runs and -jobs must be positive, -batch not negative"))
	}

	// Stop the grapes on every way out: return, error, or a signal.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "bench: %v: stopping the grapes\n", s)
		cleanup()
		os.Exit(130)
	}()
	err := run(&c)
	cleanup()
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	os.Exit(1)
}

var (
	cleanupMu  sync.Mutex
	cleanupFns []func()
)

func atCleanup(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanupFns = append(cleanupFns, f)
}

// cleanup runs the registered functions once, newest first.
func cleanup() {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for i := len(cleanupFns) - 1; i >= 0; i-- {
		cleanupFns[i]()
	}
	cleanupFns = nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// env holds what every measured request needs.
type env struct {
	c        *config
	bin      string   // absolute path of grenache
	curl     string   // absolute path of curl
	procEnv  []string // environment of the processes we start
	putPort  int      // every put goes through grape 1
	getPort  int      // every get through grape 2, so it crosses the DHT
	signer   bep44.Signer
	nonce    string
	seq      int64 // the next seq of a mutable put; they all go to one item
	putSalt  string
	getSalt  string
	getImm   bep44.Target // pre-stored items the gets read
	getImmV  string
	getMut   bep44.Target
	getMutV  string
	client   *http.Client
	ua       string
	errs     []string
	hello    string // static Go hello world, "" when it could not be built
	trueBin  string
	rssOfGet []int64 // KiB, one per measured grenache get
}

func (e *env) failf(format string, args ...any) {
	if len(e.errs) < 20 {
		e.errs = append(e.errs, fmt.Sprintf(format, args...))
	} else if len(e.errs) == 20 {
		e.errs = append(e.errs, "(more errors left out)")
	}
}

func run(c *config) error {
	start := time.Now()
	bin, err := filepath.Abs(c.bin)
	if err != nil {
		return err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("%v (run make build first)", err)
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		return errors.New("curl is not installed: apt-get install curl (make bench installs it when run as root)")
	}
	trueBin, err := exec.LookPath("true")
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "grenache-bench-")
	if err != nil {
		return err
	}
	atCleanup(func() { os.RemoveAll(tmp) })

	e := &env{
		c: c, bin: bin, curl: curl, trueBin: trueBin,
		putPort: c.apiBase + 1, getPort: c.apiBase + 2,
		nonce: randHex(4),
		seq:   time.Now().UnixMicro(),
	}
	e.putSalt, e.getSalt = "bench-put-"+e.nonce, "bench-get-"+e.nonce
	home, cfg := filepath.Join(tmp, "home"), filepath.Join(tmp, "config")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	// A small, fixed environment: no GRENACHE_* or proxy variables of the caller's.
	e.procEnv = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + cfg, "LC_ALL=C"}

	if err := startGrapes(c, filepath.Join(tmp, "grapes")); err != nil {
		return err
	}
	if out, err := e.cmd(nil, bin, "keygen").CombinedOutput(); err != nil {
		return fmt.Errorf("grenache keygen: %v: %s", err, out)
	}
	pair, err := (&keystore.Store{Dir: filepath.Join(cfg, "grenache"), LegacyDir: filepath.Join(home, ".grenache-cli")}).Load()
	if err != nil {
		return err
	}
	e.signer, err = bep44.NewSigner(pair.Private)
	if err != nil {
		return err
	}
	ver, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("grenache --version: %v", err)
	}
	e.ua = "grenache/" + strings.TrimPrefix(strings.TrimSpace(string(ver)), "grenache ")
	e.client = &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	if err := e.prestore(); err != nil {
		return err
	}
	e.hello = buildHello(tmp)

	res := &results{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Go:      runtime.Version(),
		CPUs:    runtime.NumCPU(),
		Kernel:  kernel(),
		Runs:    c.runs,
		Binary:  bin,
		Version: strings.TrimSpace(string(ver)),
	}
	res.BinaryBytes = st.Size()

	progress("%d interleaved rounds of %d measurements (+%d warm-up rounds)", c.runs, len(e.measures()), c.warmup)
	res.Ops = e.interleaved()
	if len(e.rssOfGet) > 0 {
		res.GetPeakRSSKiB = slices.Max(e.rssOfGet)
		res.GetMedianRSSKiB = median(e.rssOfGet)
	}
	res.Init = initCost(bin, e.procEnv)
	if c.batchN > 0 {
		if e.hasBatch() {
			res.Batch, err = e.batch()
			if err != nil {
				return err
			}
		} else {
			res.BatchNote = "the binary has no --batch ('grenache put --help' does not mention it): batch not measured"
			progress("%s", res.BatchNote)
		}
	}
	if c.goBench != "" {
		res.GoBench = parseGoBench(c.goBench)
	}
	if len(e.errs) > 0 {
		return fmt.Errorf("wrong answers during the run:\n  %s", strings.Join(e.errs, "\n  "))
	}
	res.Out = c.out
	res.targets()
	res.Seconds = time.Since(start).Seconds()
	if err := res.write(c.out); err != nil {
		return err
	}
	res.markdown(os.Stdout)
	return nil
}

// startGrapes starts two grapes with scripts/grapes.sh and stops them, by the PIDs it
// recorded, at cleanup.
func startGrapes(c *config, dir string) error {
	for i := 1; i <= 2; i++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.apiBase+i)))
		if err != nil {
			return fmt.Errorf("port %d is taken (%v): pick others with -api-base and -dht-base", c.apiBase+i, err)
		}
		l.Close()
	}
	script := filepath.Join(c.scripts, "grapes.sh")
	grapeEnv := append(os.Environ(), fmt.Sprintf("GRAPE_API_BASE=%d", c.apiBase), fmt.Sprintf("GRAPE_DHT_BASE=%d", c.dhtBase))
	cmd := exec.Command(script, "start", dir, "2")
	cmd.Env = grapeEnv
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// Registered before starting: a failed start stops what it started itself, and
	// stopping nothing is harmless.
	atCleanup(func() {
		stop := exec.Command(script, "stop", dir)
		stop.Env = grapeEnv
		stop.Stdout, stop.Stderr = os.Stderr, os.Stderr
		if err := stop.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: stopping the grapes: %v\n", err)
		}
	})
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s start: %v", script, err)
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// putBody and getBody are the bodies grenache sends (grape.PutBody, grape.GetBody).
func putBody(it *bep44.Item) []byte {
	b, err := grape.PutBody(it, nil)
	if err != nil {
		panic(err)
	}
	return b
}

func getBody(t bep44.Target, salt string) []byte {
	var s []byte
	if salt != "" {
		s = []byte(salt)
	}
	b, err := grape.GetBody(t, s)
	if err != nil {
		panic(err)
	}
	return b
}

// request is one measured request: what grenache is given, and what curl and the
// in-process client post, with the answer expected.
type request struct {
	args   []string // grenache's, after the binary
	port   int
	op     string // "put" or "get"
	body   []byte
	target bep44.Target
	value  string // a get's expected value
}

func (e *env) grapeArgs(port int) []string {
	return []string{"-g", "127.0.0.1", "-p", strconv.Itoa(port)}
}

// value makes a distinct sensor-sized value.
func (e *env) value(kind string, round int, client string) string {
	return fmt.Sprintf("sensor %s reading %d by %s: temperature 21.5 C, humidity 40 %% [%s]", kind, round, client, e.nonce)
}

func (e *env) putImmutable(v string) request {
	it := &bep44.Item{V: []byte(v)}
	return request{
		args: append(append([]string{"put"}, e.grapeArgs(e.putPort)...), v),
		port: e.putPort, op: "put", body: putBody(it), target: it.Target(),
	}
}

// putMutable signs a new version of the bench's one mutable item, with the next seq.
func (e *env) putMutable(v string) request {
	e.seq++
	it, err := bep44.NewMutable(e.signer, []byte(e.putSalt), e.seq, []byte(v))
	if err != nil {
		panic(err)
	}
	args := append([]string{"put"}, e.grapeArgs(e.putPort)...)
	args = append(args, "--mutable", "--salt", e.putSalt, "--number", strconv.FormatInt(e.seq, 10), v)
	return request{args: args, port: e.putPort, op: "put", body: putBody(it), target: it.Target()}
}

func (e *env) get(t bep44.Target, salt, value string) request {
	args := append([]string{"get"}, e.grapeArgs(e.getPort)...)
	if salt != "" {
		args = append(args, "--salt", salt)
	}
	return request{args: append(args, t.String()), port: e.getPort, op: "get", body: getBody(t, salt), target: t, value: value}
}

// prestore puts the items the gets read, and waits until the get grape finds them.
func (e *env) prestore() error {
	e.getImmV = "sensor bench stored reading: temperature 20.0 C [" + e.nonce + "]"
	e.getMutV = "sensor bench stored mutable reading: temperature 20.5 C [" + e.nonce + "]"
	imm := &bep44.Item{V: []byte(e.getImmV)}
	mut, err := bep44.NewMutable(e.signer, []byte(e.getSalt), 1, []byte(e.getMutV))
	if err != nil {
		return err
	}
	e.getImm, e.getMut = imm.Target(), mut.Target()
	for _, it := range []*bep44.Item{imm, mut} {
		_, status, body, err := e.post(e.putPort, "put", putBody(it))
		if err != nil || status != http.StatusOK || !bytes.Equal(body, []byte(`"`+it.Target().String()+`"`)) {
			return fmt.Errorf("storing the items to read: HTTP %d %q %v", status, body, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, r := range []request{e.get(e.getImm, "", e.getImmV), e.get(e.getMut, e.getSalt, e.getMutV)} {
		for {
			_, status, body, err := e.post(r.port, "get", r.body)
			if err == nil && status == http.StatusOK && checkGetAnswer(body, r.value) == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the stored item %s cannot be read back: HTTP %d %q %v", r.target, status, body, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// post sends one request with the in-process keep-alive client and reads the answer.
func (e *env) post(port int, op string, body []byte) (time.Duration, int, []byte, error) {
	t0 := time.Now()
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+strconv.Itoa(port)+"/"+op, bytes.NewReader(body))
	if err != nil {
		return 0, 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", e.ua)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return time.Since(t0), resp.StatusCode, b, err
}

func checkGetAnswer(body []byte, value string) error {
	var a struct {
		V *string `json:"v"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.V == nil || *a.V != value {
		return fmt.Errorf("get answer %.200q, want v %q", body, value)
	}
	return nil
}

func (e *env) cmd(stdin []byte, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = e.procEnv
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd
}

// proc runs one process and returns its wall time, output and peak RSS (KiB).
func (e *env) proc(stdin []byte, name string, args ...string) (time.Duration, []byte, int64, error) {
	cmd := e.cmd(stdin, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss
		}
	}
	if err != nil {
		return d, out.Bytes(), rss, fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, bytes.TrimSpace(errOut.Bytes()))
	}
	return d, out.Bytes(), rss, nil
}

// Client names.
const (
	cGrenache = "grenache"
	cCurl     = "curl"
	cInProc   = "in-process"
	cTrue     = "/bin/true"
	cHello    = "Go hello world"
)

// Operation names.
const (
	opPut     = "put"
	opPutMut  = "put --mutable --salt"
	opGet     = "get"
	opGetMut  = "get --salt (mutable)"
	opVersion = "--version"
	opStart   = "process start"
)

var opOrder = []string{opPut, opPutMut, opGet, opGetMut, opVersion, opStart}

// measure is one (operation, client) pair; run does one measured run of it.
type measure struct {
	op, client string
	run        func(round int) (time.Duration, error)
}

func (e *env) measures() []measure {
	var ms []measure
	reqs := map[string]func(round int, client string) request{
		opPut:    func(r int, c string) request { return e.putImmutable(e.value("imm", r, c)) },
		opPutMut: func(r int, c string) request { return e.putMutable(e.value("mut", r, c)) },
		opGet:    func(int, string) request { return e.get(e.getImm, "", e.getImmV) },
		opGetMut: func(int, string) request { return e.get(e.getMut, e.getSalt, e.getMutV) },
	}
	for _, op := range []string{opPut, opPutMut, opGet, opGetMut} {
		mk := reqs[op]
		ms = append(ms,
			measure{op, cGrenache, func(round int) (time.Duration, error) {
				r := mk(round, cGrenache)
				d, out, rss, err := e.proc(nil, e.bin, r.args...)
				if err != nil {
					return d, err
				}
				if r.op == "get" {
					e.rssOfGet = append(e.rssOfGet, rss)
					if string(out) != r.value+"\n" {
						return d, fmt.Errorf("grenache %s printed %q, want %q", strings.Join(r.args, " "), out, r.value)
					}
				} else if strings.TrimSpace(string(out)) != r.target.String() {
					return d, fmt.Errorf("grenache %s printed %q, want %s", strings.Join(r.args, " "), out, r.target)
				}
				return d, nil
			}},
			measure{op, cCurl, func(round int) (time.Duration, error) {
				r := mk(round, cCurl)
				// As the predecessor did: one curl per request, the body on the command line.
				d, out, _, err := e.proc(nil, e.curl, "-sS", "--max-time", "10", "--connect-timeout", "5",
					"-A", e.ua, "-H", "Content-Type: application/json", "--data-binary", string(r.body),
					"http://127.0.0.1:"+strconv.Itoa(r.port)+"/"+r.op)
				if err != nil {
					return d, err
				}
				return d, checkAnswer(r, out)
			}},
			measure{op, cInProc, func(round int) (time.Duration, error) {
				r := mk(round, cInProc)
				d, status, out, err := e.post(r.port, r.op, r.body)
				if err != nil {
					return d, err
				}
				if status != http.StatusOK {
					return d, fmt.Errorf("HTTP %d: %q", status, out)
				}
				return d, checkAnswer(r, out)
			}},
		)
	}
	ms = append(ms, measure{opVersion, cGrenache, func(int) (time.Duration, error) {
		d, out, _, err := e.proc(nil, e.bin, "--version")
		if err == nil && !bytes.HasPrefix(out, []byte("grenache ")) {
			err = fmt.Errorf("grenache --version printed %q", out)
		}
		return d, err
	}})
	ms = append(ms, measure{opStart, cTrue, func(int) (time.Duration, error) {
		d, _, _, err := e.proc(nil, e.trueBin)
		return d, err
	}})
	if e.hello != "" {
		ms = append(ms, measure{opStart, cHello, func(int) (time.Duration, error) {
			d, _, _, err := e.proc(nil, e.hello)
			return d, err
		}})
	}
	return ms
}

func checkAnswer(r request, out []byte) error {
	if r.op == "get" {
		return checkGetAnswer(out, r.value)
	}
	if string(out) != `"`+r.target.String()+`"` {
		return fmt.Errorf("put answer %q, want %q", out, r.target)
	}
	return nil
}

// interleaved runs every measure once per round, starting each round one measure further
// along, and returns the statistics in opOrder.
func (e *env) interleaved() []opStats {
	ms := e.measures()
	samples := make([][]time.Duration, len(ms))
	for round := -e.c.warmup; round < e.c.runs; round++ {
		for i := range ms {
			j := (i + max(round, 0)) % len(ms)
			d, err := ms[j].run(round)
			if err != nil {
				e.failf("%s by %s, round %d: %v", ms[j].op, ms[j].client, round, err)
				continue
			}
			if round >= 0 {
				samples[j] = append(samples[j], d)
			}
		}
		if round >= 0 && (round+1)%25 == 0 {
			progress("round %d of %d", round+1, e.c.runs)
		}
	}
	var out []opStats
	for _, op := range opOrder {
		for j, m := range ms {
			if m.op == op {
				out = append(out, stats(m.op, m.client, samples[j]))
			}
		}
	}
	return out
}

type opStats struct {
	Op        string    `json:"op"`
	Client    string    `json:"client"`
	N         int       `json:"n"`
	MinMS     float64   `json:"min_ms"`
	MedianMS  float64   `json:"median_ms"`
	P90MS     float64   `json:"p90_ms"`
	MeanMS    float64   `json:"mean_ms"`
	SamplesMS []float64 `json:"samples_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func stats(op, client string, ds []time.Duration) opStats {
	s := opStats{Op: op, Client: client, N: len(ds)}
	if len(ds) == 0 {
		return s
	}
	for _, d := range ds {
		s.SamplesMS = append(s.SamplesMS, ms(d))
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	s.MinMS = ms(sorted[0])
	s.MedianMS = ms(median(sorted))
	s.P90MS = ms(sorted[(len(sorted)*9+9)/10-1]) // nearest rank
	s.MeanMS = ms(sum / time.Duration(len(sorted)))
	return s
}

// median of a slice, sorted or not.
func median[T int64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// buildHello builds a static Go program that only writes a line: the floor of starting
// any Go binary. "" when it cannot be built.
func buildHello(tmp string) string {
	dir := filepath.Join(tmp, "hello")
	src := "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"
	if os.MkdirAll(dir, 0o755) != nil ||
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.21\n"), 0o644) != nil ||
		os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644) != nil {
		return ""
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		progress("no Go hello world floor: %v: %s", err, b)
		return ""
	}
	return out
}

// initStats is what GODEBUG=inittrace=1 reports for grenache --version.
type initStats struct {
	Runs       int       `json:"runs"`
	Packages   int       `json:"packages"`
	ClockMS    float64   `json:"clock_ms_median"`
	Bytes      int64     `json:"bytes_median"`
	Allocs     int64     `json:"allocs_median"`
	Heaviest   []initPkg `json:"heaviest"`
	HeaviestMS float64   `json:"heaviest_ms"`
}

type initPkg struct {
	Package string  `json:"package"`
	ClockMS float64 `json:"clock_ms_median"`
	Bytes   int64   `json:"bytes"`
	Allocs  int64   `json:"allocs"`
}

// initCost runs grenache --version with GODEBUG=inittrace=1 a few times and sums what the
// package initializers cost, per run and per package (medians).
func initCost(bin string, procEnv []string) *initStats {
	const runs = 11
	var clocks []time.Duration
	var bytesPer, allocsPer []int64
	perPkg := map[string][]time.Duration{}
	pkgBytes, pkgAllocs := map[string]int64{}, map[string]int64{}
	for i := 0; i < runs; i++ {
		cmd := exec.Command(bin, "--version")
		cmd.Env = append(slices.Clone(procEnv), "GODEBUG=inittrace=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			progress("inittrace: %v", err)
			return nil
		}
		var clock time.Duration
		var b, a int64
		sc := bufio.NewScanner(&stderr)
		for sc.Scan() {
			// init net/http @3.8 ms, 0.023 ms clock, 4872 bytes, 50 allocs
			f := strings.Fields(sc.Text())
			if len(f) != 11 || f[0] != "init" {
				continue
			}
			c, err1 := strconv.ParseFloat(f[4], 64)
			nb, err2 := strconv.ParseInt(f[7], 10, 64)
			na, err3 := strconv.ParseInt(f[9], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil {
				continue
			}
			d := time.Duration(c * float64(time.Millisecond))
			clock += d
			b += nb
			a += na
			perPkg[f[1]] = append(perPkg[f[1]], d)
			pkgBytes[f[1]], pkgAllocs[f[1]] = nb, na
		}
		clocks = append(clocks, clock)
		bytesPer = append(bytesPer, b)
		allocsPer = append(allocsPer, a)
	}
	s := &initStats{Runs: runs, Packages: len(perPkg), ClockMS: ms(median(clocks)), Bytes: median(bytesPer), Allocs: median(allocsPer)}
	for p, ds := range perPkg {
		s.Heaviest = append(s.Heaviest, initPkg{p, float64(median(ds).Nanoseconds()) / 1e6, pkgBytes[p], pkgAllocs[p]})
	}
	slices.SortFunc(s.Heaviest, func(a, b initPkg) int {
		if a.ClockMS != b.ClockMS {
			if a.ClockMS > b.ClockMS {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Package, b.Package)
	})
	if len(s.Heaviest) > 5 {
		s.Heaviest = s.Heaviest[:5]
	}
	if len(s.Heaviest) > 0 {
		s.HeaviestMS = s.Heaviest[0].ClockMS
	}
	return s
}

func (e *env) hasBatch() bool {
	out, _ := exec.Command(e.bin, "put", "--help").CombinedOutput()
	return bytes.Contains(out, []byte("--batch"))
}

// batchStats compares ways of doing n items.
type batchStats struct {
	Items int         `json:"items"`
	Jobs  int         `json:"jobs"`
	Reps  int         `json:"reps"`
	Rows  []batchMode `json:"modes"`
}

type batchMode struct {
	Op         string    `json:"op"`
	Mode       string    `json:"mode"`
	SecondsMed float64   `json:"seconds_median"`
	Seconds    []float64 `json:"seconds"`
	PerSecond  float64   `json:"items_per_second"`
}

const (
	mBatch  = "grenache --batch (one process)"
	mLoop   = "grenache, one process per item"
	mInProc = "in-process keep-alive client"
)

// batch measures n immutable puts (distinct values) and n gets of what was put, each in
// three ways, rotating which way goes first.
func (e *env) batch() (*batchStats, error) {
	n, jobs := e.c.batchN, e.c.jobs
	modes := []string{mBatch, mLoop, mInProc}
	times := map[string][]time.Duration{}
	progress("batch: %d puts and %d gets, three ways, %d times", n, n, e.c.batchReps)
	for rep := 0; rep < e.c.batchReps; rep++ {
		for i := range modes {
			mode := modes[(i+rep)%len(modes)]
			values := make([]string, n)
			targets := make([]bep44.Target, n)
			for k := range values {
				values[k] = fmt.Sprintf("sensor %04d batch reading %d, %s: temperature 21.5 C [%s]", k, rep, strings.Fields(mode)[0], e.nonce)
				targets[k] = bep44.ImmutableTarget([]byte(values[k]))
			}
			var putT, getT time.Duration
			var err error
			switch mode {
			case mBatch:
				putT, getT, err = e.batchOneProcess(values, targets, jobs)
			case mLoop:
				putT, getT, err = e.batchProcesses(values, targets)
			case mInProc:
				putT, getT, err = e.batchInProcess(values, targets, jobs)
			}
			if err != nil {
				return nil, fmt.Errorf("batch, %s: %w", mode, err)
			}
			times["put/"+mode] = append(times["put/"+mode], putT)
			times["get/"+mode] = append(times["get/"+mode], getT)
		}
		progress("batch round %d of %d done", rep+1, e.c.batchReps)
	}
	bs := &batchStats{Items: n, Jobs: jobs, Reps: e.c.batchReps}
	for _, op := range []string{"put", "get"} {
		for _, mode := range modes {
			ds := times[op+"/"+mode]
			m := batchMode{Op: op, Mode: mode, SecondsMed: median(ds).Seconds()}
			for _, d := range ds {
				m.Seconds = append(m.Seconds, d.Seconds())
			}
			m.PerSecond = float64(n) / m.SecondsMed
			bs.Rows = append(bs.Rows, m)
		}
	}
	return bs, nil
}

func (e *env) batchOneProcess(values []string, targets []bep44.Target, jobs int) (time.Duration, time.Duration, error) {
	var in bytes.Buffer
	for _, v := range values {
		b, _ := json.Marshal(v)
		in.Write(append(b, '\n'))
	}
	args := append([]string{"put", "--batch", "--jobs", strconv.Itoa(jobs)}, e.grapeArgs(e.putPort)...)
	putT, out, _, err := e.proc(in.Bytes(), e.bin, args...)
	if err != nil {
		return 0, 0, err
	}
	if err := checkLines(out, targets, func(i int, m map[string]any) bool { return m["hash"] == targets[i].String() }); err != nil {
		return 0, 0, fmt.Errorf("put --batch: %w", err)
	}
	in.Reset()
	for _, t := range targets {
		in.WriteString(t.String() + "\n")
	}
	args = append([]string{"get", "--batch", "--jobs", strconv.Itoa(jobs)}, e.grapeArgs(e.getPort)...)
	getT, out, _, err := e.proc(in.Bytes(), e.bin, args...)
	if err != nil {
		return 0, 0, err
	}
	if err := checkLines(out, targets, func(i int, m map[string]any) bool { return m["v"] == values[i] }); err != nil {
		return 0, 0, fmt.Errorf("get --batch: %w", err)
	}
	return putT, getT, nil
}

// checkLines checks one NDJSON result line per item, in input order.
func checkLines(out []byte, targets []bep44.Target, ok func(int, map[string]any) bool) error {
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(targets) {
		return fmt.Errorf("%d result lines for %d items", len(lines), len(targets))
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || !ok(i, m) {
			return fmt.Errorf("result line %d for %s is %q", i+1, targets[i], l)
		}
	}
	return nil
}

func (e *env) batchProcesses(values []string, targets []bep44.Target) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	for i, v := range values {
		r := e.putImmutable(v)
		_, out, _, err := e.proc(nil, e.bin, r.args...)
		if err != nil {
			return 0, 0, err
		}
		if strings.TrimSpace(string(out)) != targets[i].String() {
			return 0, 0, fmt.Errorf("put printed %q, want %s", out, targets[i])
		}
	}
	putT := time.Since(t0)
	t0 = time.Now()
	for i, t := range targets {
		r := e.get(t, "", values[i])
		_, out, _, err := e.proc(nil, e.bin, r.args...)
		if err != nil {
			return 0, 0, err
		}
		if string(out) != values[i]+"\n" {
			return 0, 0, fmt.Errorf("get %s printed %q, want %q", t, out, values[i])
		}
	}
	return putT, time.Since(t0), nil
}

// batchInProcess sends the same requests with jobs workers over the keep-alive client.
func (e *env) batchInProcess(values []string, targets []bep44.Target, jobs int) (time.Duration, time.Duration, error) {
	do := func(mk func(i int) request) (time.Duration, error) {
		reqs := make([]request, len(values))
		for i := range reqs {
			reqs[i] = mk(i)
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		next := make(chan int)
		var wg sync.WaitGroup
		t0 := time.Now()
		for w := 0; w < jobs; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					r := reqs[i]
					_, status, out, err := e.post(r.port, r.op, r.body)
					if err == nil && status != http.StatusOK {
						err = fmt.Errorf("HTTP %d: %q", status, out)
					}
					if err == nil {
						err = checkAnswer(r, out)
					}
					if err != nil {
						cancel(err)
					}
				}
			}()
		}
	feed:
		for i := range reqs {
			select {
			case next <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
		wg.Wait()
		return time.Since(t0), context.Cause(ctx)
	}
	putT, err := do(func(i int) request { return e.putImmutable(values[i]) })
	if err != nil {
		return 0, 0, err
	}
	getT, err := do(func(i int) request { return e.get(targets[i], "", values[i]) })
	return putT, getT, err
}

// goBenchLine is one result of go test -bench -benchmem.
type goBenchLine struct {
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  int64   `json:"bytes_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
	Package     string  `json:"package"`
}

func parseGoBench(path string) []goBenchLine {
	b, err := os.ReadFile(path)
	if err != nil {
		progress("go benchmarks: %v", err)
		return nil
	}
	var out []goBenchLine
	pkg := ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "pkg:" {
			pkg = f[1]
		}
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		g := goBenchLine{Name: f[0], Package: pkg}
		for i := 1; i+1 < len(f); i++ {
			switch f[i+1] {
			case "ns/op":
				g.NsPerOp, _ = strconv.ParseFloat(f[i], 64)
			case "B/op":
				g.BytesPerOp, _ = strconv.ParseInt(f[i], 10, 64)
			case "allocs/op":
				g.AllocsPerOp, _ = strconv.ParseInt(f[i], 10, 64)
			}
		}
		out = append(out, g)
	}
	return out
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return runtime.GOOS + " " + strings.TrimSpace(string(b))
}
