// Command scale measures a network of grapes on loopback at scale, through
// the grenache binary run as a user runs it, and writes a markdown table.
//
//	go run ./scripts/scale [-bin PATH] [-grapes 20] [-items 200] [-transports http,dht]
//	                       [-jobs 4] [-timeout 10s] [-deadline 10m] [-seed N] [-o docs/scale.md]
//
// It builds the binary (or takes -bin), makes one key pair with
// `grenache keygen` in folders of its own, and starts -grapes grapes with
// grapenet.Launch, each bootstrapping to all the others. Then, for each
// transport (-transports; a transport is only the flag that names a grape:
// http is -g 127.0.0.1:APIPORT, dht is --dht 127.0.0.1:DHTPORT):
//
//  1. puts -items items, half immutable and half salted mutable, each through
//     a random grape, and gets each through another grape;
//
// then it stops a third of the grapes, by their PIDs, and for each transport
//
//  2. gets every item put through a surviving grape, and puts as many new
//     ones through one;
//  3. gets every item, and puts as many new ones, through a list of three
//     random grapes, at least one of them stopped, in random order.
//
// Every operation is one grenache process with --timeout -timeout, at most
// -jobs at a time; a latency is the whole process's wall time. Failures are
// counted by exit code with the first message seen, never left out. The whole
// run is bounded by -deadline; on the deadline or SIGINT/SIGTERM/SIGHUP the
// commands running are killed, and every grape it started is stopped.
//
// The table goes to standard output; -o also writes it as a document saying
// how, where and when it was made (make scale writes docs/scale.md).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"grenache/grape/grapenet"
)

// transport is how a command names the grapes it goes through: a flag, and
// the port of each grape that flag takes. Adding a transport is adding a line.
type transport struct {
	name string
	flag string
	port func(*grapenet.Grape) int
	desc string
}

var transports = []transport{
	{"http", "-g", func(g *grapenet.Grape) int { return g.APIPort }, "`-g 127.0.0.1:APIPORT[,...]`: the grape's HTTP API"},
	{"dht", "--dht", func(g *grapenet.Grape) int { return g.DHTPort }, "`--dht 127.0.0.1:DHTPORT[,...]`: a short-lived DHT node of grenache's own, bootstrapping from the grapes' DHT ports"},
}

// addr is the flag's value naming the grapes gs.
func (t transport) addr(gs ...*grapenet.Grape) string {
	var a []string
	for _, g := range gs {
		a = append(a, "127.0.0.1:"+strconv.Itoa(t.port(g)))
	}
	return strings.Join(a, ",")
}

func parseTransports(s string) ([]transport, error) {
	var ts []transport
	for _, name := range strings.Split(s, ",") {
		i := slices.IndexFunc(transports, func(t transport) bool { return t.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("unknown transport %q (known: http, dht)", name)
		}
		if slices.ContainsFunc(ts, func(t transport) bool { return t.name == transports[i].name }) {
			return nil, fmt.Errorf("transport %q given twice", name)
		}
		ts = append(ts, transports[i])
	}
	return ts, nil
}

// config is what measure needs; main fills it from the flags.
type config struct {
	bin        string // the grenache binary
	grapes     int
	items      int
	jobs       int
	transports []transport
	timeout    time.Duration // each command's --timeout
	seed       uint64
	progress   io.Writer // a line per step; nil: none
	install    bool      // let grapenet install the Node packages
}

// row is one line of the table: one operation over one transport.
type row struct {
	transport string
	phase     string
	op        string
	planned   int             // operations meant to run
	attempted int             // operations run (the others were cut)
	ok        int             // operations that succeeded
	lat       []time.Duration // of the successful ones
	notPut    int             // of a get row: items not read because their put failed
	allDown   int             // operations run whose grapes were all stopped
	downFail  int             // and of those, the ones that failed
	fails     map[int]*failure
}

type failure struct {
	count   int
	example string
}

// result is a run's outcome: its rows, in order, and what framed them.
type result struct {
	rows      []*row
	grapes    int
	stopped   []int // indexes of the grapes stopped
	pids      []int // of every grape started
	startup   time.Duration
	elapsed   time.Duration
	version   string
	cut       error // the deadline or signal that cut the run, if any
	stopError error // grapes that would not stop on SIGTERM
}

// item is one value put, and where.
type item struct {
	value string
	salt  string // empty: immutable
	hash  string // once put
	via   int    // index of the grape it was put through
}

type runner struct {
	cfg  config
	env  []string
	rnd  *rand.Rand
	net  *grapenet.Net
	down map[int]bool
}

// outcome of one command.
type outcome struct {
	ran  bool
	ok   bool
	d    time.Duration
	code int // exit code; -1 when killed or not started
	msg  string
	out  string
}

// job is one command and the check of its standard output.
type job struct {
	args    []string
	check   func(stdout string) error
	allDown bool // every grape it names is stopped
}

var (
	errDeadline = errors.New("the -deadline was reached")
	hexHash     = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

func (c config) logf(format string, a ...any) {
	if c.progress != nil {
		fmt.Fprintf(c.progress, "scale: "+format+"\n", a...)
	}
}

// measure runs the whole measurement on a network of its own and stops
// every grape it started before it returns. A cut run (deadline, signal)
// returns its partial result with cut set.
func measure(ctx context.Context, cfg config) (*result, error) {
	if cfg.grapes < 3 || cfg.items < 1 || cfg.jobs < 1 || len(cfg.transports) == 0 {
		return nil, errors.New("need at least 3 grapes, 1 item, 1 job and 1 transport")
	}
	began := time.Now()
	tmp, err := os.MkdirTemp("", "grenache-scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	r := &runner{
		cfg:  cfg,
		rnd:  rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)),
		down: map[int]bool{},
		env: []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + filepath.Join(tmp, "home"),
			"XDG_CONFIG_HOME=" + filepath.Join(tmp, "config"),
			"XDG_STATE_HOME=" + filepath.Join(tmp, "state"),
			"LC_ALL=C",
		},
	}
	res := &result{grapes: cfg.grapes}
	if o := r.run(ctx, job{args: []string{"--version"}}); o.ok {
		res.version = strings.TrimSpace(o.out)
	} else {
		return nil, fmt.Errorf("%s --version: exit %d: %s", cfg.bin, o.code, o.msg)
	}
	if o := r.run(ctx, job{args: []string{"keygen"}}); !o.ok {
		return nil, fmt.Errorf("grenache keygen: exit %d: %s", o.code, o.msg)
	}

	cfg.logf("starting %d grapes", cfg.grapes)
	t0 := time.Now()
	gn, err := grapenet.Launch(cfg.grapes, grapenet.Options{Install: cfg.install, InstallOutput: cfg.progress})
	if err != nil {
		return nil, err
	}
	defer gn.Stop()
	r.net = gn
	for _, g := range gn.Grapes {
		res.pids = append(res.pids, g.Pid())
	}
	res.startup = time.Since(t0)
	cfg.logf("%d grapes ready in %v", cfg.grapes, res.startup.Round(time.Millisecond))

	nonce := strconv.FormatUint(cfg.seed%1e9, 36) + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	all := fmt.Sprintf("all %d grapes running", cfg.grapes)
	put := make(map[string][]*item)
	for _, t := range cfg.transports {
		items := r.newItems(nonce, t.name, "")
		res.rows = append(res.rows, r.puts(ctx, t, all, "put through a random grape", items, r.oneGrape))
		put[t.name] = putOK(items)
		res.rows = append(res.rows, r.gets(ctx, t, all, "get through another grape", len(items), put[t.name], r.otherGrape))
	}

	k := max(1, (cfg.grapes+1)/3)
	if ctx.Err() == nil {
		res.stopped = r.rnd.Perm(cfg.grapes)[:k]
		sort.Ints(res.stopped)
		cfg.logf("stopping %d of %d grapes: %v", k, cfg.grapes, res.stopped)
		var errs []error
		for _, i := range res.stopped {
			errs = append(errs, gn.Grapes[i].Stop())
			r.down[i] = true
		}
		res.stopError = errors.Join(errs...)
	}
	after := fmt.Sprintf("after stopping %d of %d", k, cfg.grapes)
	for _, t := range cfg.transports {
		res.rows = append(res.rows, r.gets(ctx, t, after, "get through a surviving grape", cfg.items, put[t.name], r.survivor))
		res.rows = append(res.rows, r.gets(ctx, t, after, "get through a list of 3, ≥ 1 stopped", cfg.items, put[t.name], r.listOfThree))
		items := r.newItems(nonce, t.name, "after ")
		res.rows = append(res.rows, r.puts(ctx, t, after, "put through a surviving grape", items, r.survivor))
		items = r.newItems(nonce, t.name, "list ")
		res.rows = append(res.rows, r.puts(ctx, t, after, "put through a list of 3, ≥ 1 stopped", items, r.listOfThree))
	}
	res.stopError = errors.Join(res.stopError, gn.Stop())
	res.elapsed = time.Since(began)
	if ctx.Err() != nil {
		res.cut = context.Cause(ctx)
	}
	return res, nil
}

// newItems makes cfg.items values, even ones immutable and odd ones salted
// mutable, unique to this run and transport.
func (r *runner) newItems(nonce, tname, prefix string) []*item {
	items := make([]*item, r.cfg.items)
	for i := range items {
		it := &item{value: fmt.Sprintf("grenache scale %s %s %sitem %d", nonce, tname, prefix, i)}
		if i%2 == 1 {
			it.salt = fmt.Sprintf("scale-%s-%s-%s%d", nonce, tname, strings.TrimSpace(prefix), i)
		}
		items[i] = it
	}
	return items
}

func putOK(items []*item) []*item {
	var ok []*item
	for _, it := range items {
		if it.hash != "" {
			ok = append(ok, it)
		}
	}
	return ok
}

// Choosers of the grapes a command names, given the grape an item was put
// through; each returns the grapes in the order the flag lists them.

func (r *runner) oneGrape(int) []int { return []int{r.rnd.IntN(len(r.net.Grapes))} }

func (r *runner) otherGrape(via int) []int {
	g := r.rnd.IntN(len(r.net.Grapes) - 1)
	if g >= via {
		g++
	}
	return []int{g}
}

func (r *runner) survivor(int) []int {
	var up []int
	for i := range r.net.Grapes {
		if !r.down[i] {
			up = append(up, i)
		}
	}
	if len(up) == 0 {
		up = []int{0}
	}
	return []int{up[r.rnd.IntN(len(up))]}
}

// listOfThree: one stopped grape, two more of any kind, shuffled.
func (r *runner) listOfThree(int) []int {
	var down []int
	for i := range r.net.Grapes {
		if r.down[i] {
			down = append(down, i)
		}
	}
	if len(down) == 0 { // cut before the stop: the jobs will not run
		down = []int{0}
	}
	first := down[r.rnd.IntN(len(down))]
	list := []int{first}
	for _, i := range r.rnd.Perm(len(r.net.Grapes)) {
		if len(list) == 3 {
			break
		}
		if i != first {
			list = append(list, i)
		}
	}
	r.rnd.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	return list
}

func (r *runner) allDown(idx []int) bool {
	return !slices.ContainsFunc(idx, func(i int) bool { return !r.down[i] })
}

func (r *runner) grapes(idx []int) []*grapenet.Grape {
	var gs []*grapenet.Grape
	for _, i := range idx {
		gs = append(gs, r.net.Grapes[i])
	}
	return gs
}

func (r *runner) timeoutArg() string {
	return strconv.FormatFloat(r.cfg.timeout.Seconds(), 'f', -1, 64)
}

func (r *runner) puts(ctx context.Context, t transport, phase, op string, items []*item, choose func(int) []int) *row {
	r.cfg.logf("%s, %s: %s, %d items", t.name, phase, op, len(items))
	jobs := make([]job, len(items))
	for i, it := range items {
		via := choose(-1)
		it.via = via[0]
		args := []string{"put", t.flag, t.addr(r.grapes(via)...), "--timeout", r.timeoutArg()}
		if it.salt != "" {
			args = append(args, "--mutable", "--salt", it.salt)
		}
		jobs[i] = job{args: append(args, it.value), allDown: r.allDown(via), check: func(out string) error {
			h := strings.TrimSuffix(out, "\n")
			if !hexHash.MatchString(h) {
				return fmt.Errorf("printed %q, not a hash", out)
			}
			it.hash = h
			return nil
		}}
	}
	return r.runAll(ctx, t, phase, op, len(items), jobs)
}

func (r *runner) gets(ctx context.Context, t transport, phase, op string, planned int, items []*item, choose func(int) []int) *row {
	r.cfg.logf("%s, %s: %s, %d items", t.name, phase, op, len(items))
	jobs := make([]job, len(items))
	for i, it := range items {
		via := choose(it.via)
		args := []string{"get", t.flag, t.addr(r.grapes(via)...), "--timeout", r.timeoutArg()}
		if it.salt != "" {
			args = append(args, "--salt", it.salt)
		}
		jobs[i] = job{args: append(args, it.hash), allDown: r.allDown(via), check: func(out string) error {
			if out != it.value+"\n" {
				return fmt.Errorf("printed %q, not the value put", out)
			}
			return nil
		}}
	}
	row := r.runAll(ctx, t, phase, op, planned, jobs)
	row.notPut = planned - len(items)
	return row
}

// runAll runs jobs, cfg.jobs at a time, and sums them up in a row. Once ctx
// is done the jobs left are not run.
func (r *runner) runAll(ctx context.Context, t transport, phase, op string, planned int, jobs []job) *row {
	outs := make([]outcome, len(jobs))
	sem := make(chan struct{}, r.cfg.jobs)
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			outs[i] = r.run(ctx, j)
		}()
	}
	wg.Wait()
	row := &row{transport: t.name, phase: phase, op: op, planned: planned, fails: map[int]*failure{}}
	for i, o := range outs {
		if !o.ran {
			continue
		}
		row.attempted++
		if jobs[i].allDown {
			row.allDown++
			if !o.ok {
				row.downFail++
			}
		}
		if o.ok {
			row.ok++
			row.lat = append(row.lat, o.d)
			continue
		}
		f := row.fails[o.code]
		if f == nil {
			f = &failure{example: o.msg}
			row.fails[o.code] = f
		}
		f.count++
	}
	slices.Sort(row.lat)
	r.cfg.logf("  %d/%d ok, p50 %s, p99 %s ms", row.ok, row.attempted, ms(percentile(row.lat, 50)), ms(percentile(row.lat, 99)))
	return row
}

// run runs one grenache command. A command gets its own --timeout and is
// killed 5 s after it; all are killed when ctx is done.
func (r *runner) run(ctx context.Context, j job) outcome {
	if ctx.Err() != nil {
		return outcome{}
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.timeout+5*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, r.cfg.bin, j.args...)
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	o := outcome{ran: true, d: time.Since(start), code: -1, out: stdout.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
		o.code = 0
		if j.check != nil {
			if cerr := j.check(o.out); cerr != nil {
				o.code, o.msg = 0, "exit 0 but "+cerr.Error()
				return o
			}
		}
		o.ok = true
		return o
	case ctx.Err() != nil:
		o.msg = "killed: " + context.Cause(ctx).Error()
	case cctx.Err() != nil:
		o.msg = fmt.Sprintf("killed after %v, still running 5 s past its --timeout", r.cfg.timeout+5*time.Second)
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		o.code = exit.ExitCode()
		o.msg = firstLine(stderr.String())
	default:
		o.msg = err.Error()
	}
	return o
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "(nothing on stderr)"
	}
	return s
}

// percentile is the nearest-rank percentile of sorted durations: with
// fewer than 100 of them, p99 is the slowest.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return -1
	}
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

func ms(d time.Duration) string {
	if d < 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64)
}

// table renders the rows as a markdown table.
func (res *result) table() string {
	var b strings.Builder
	b.WriteString("| transport | phase | operation | ok | rate | p50 ms | p99 ms | failures |\n")
	b.WriteString("|---|---|---|--:|--:|--:|--:|---|\n")
	for _, r := range res.rows {
		rate := "–"
		if r.attempted > 0 {
			rate = strconv.FormatFloat(100*float64(r.ok)/float64(r.attempted), 'f', 1, 64) + " %"
		}
		ok := fmt.Sprintf("%d / %d", r.ok, r.attempted)
		var fails []string
		codes := make([]int, 0, len(r.fails))
		for c := range r.fails {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			f := r.fails[c]
			what := fmt.Sprintf("exit %d", c)
			if c < 0 {
				what = "no exit"
			}
			fails = append(fails, fmt.Sprintf("%d × %s: `%s`", f.count, what, cell(f.example)))
		}
		if r.allDown > 0 {
			fails = append(fails, fmt.Sprintf("%d named only stopped grapes, and %d of them failed; %d of the other %d failed",
				r.allDown, r.downFail, r.attempted-r.ok-r.downFail, r.attempted-r.allDown))
		}
		if r.notPut > 0 {
			fails = append(fails, fmt.Sprintf("%d of %d items were not put, so not read", r.notPut, r.planned))
		}
		if n := r.planned - r.notPut - r.attempted; n > 0 {
			fails = append(fails, fmt.Sprintf("%d not run (the run was cut)", n))
		}
		if len(fails) == 0 {
			fails = []string{"none"}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.transport, r.phase, r.op, ok, rate,
			ms(percentile(r.lat, 50)), ms(percentile(r.lat, 99)), strings.Join(fails, "; "))
	}
	return b.String()
}

// cell makes a message safe inside a markdown table cell and a code span.
func cell(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

func main() {
	os.Exit(mainRC())
}

func mainRC() int {
	bin := flag.String("bin", "", "the grenache binary (default: build one into a temporary folder)")
	grapes := flag.Int("grapes", 20, "grapes to start (at least 3)")
	items := flag.Int("items", 200, "items per transport, half immutable, half salted mutable")
	tlist := flag.String("transports", "http,dht", "transports, comma-separated: http (-g), dht (--dht)")
	jobs := flag.Int("jobs", 4, "grenache commands run at a time")
	timeout := flag.Duration("timeout", 10*time.Second, "each command's --timeout")
	deadline := flag.Duration("deadline", 10*time.Minute, "the whole run's bound, start of the grapes included")
	seed := flag.Uint64("seed", 0, "seed of the random choices of grapes (default: from the clock)")
	out := flag.String("o", "", "also write the table as a document to this file (e.g. docs/scale.md)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./scripts/scale [-bin PATH] [-grapes N] [-items M] [-transports http,dht] [-jobs N] [-timeout D] [-deadline D] [-seed N] [-o FILE]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ts, err := parseTransports(*tlist)
	if err == nil && (flag.NArg() > 0 || *grapes < 3 || *items < 1 || *jobs < 1 || *timeout <= 0 || *deadline <= 0) {
		err = errors.New("-grapes must be at least 3, -items and -jobs at least 1, -timeout and -deadline positive; no operands")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "scale: error: %v\n", err)
		flag.Usage()
		return 2
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "scale: %v: killing the commands and stopping the grapes (again to exit at once)\n", s)
		cancel(fmt.Errorf("interrupted by %v", s))
		signal.Reset()
	}()
	ctx, cancelDeadline := context.WithTimeoutCause(ctx, *deadline, errDeadline)
	defer cancelDeadline()

	started := time.Now()
	exe := *bin
	if exe == "" {
		dir, err := os.MkdirTemp("", "grenache-scale-bin-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "scale: error: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "scale: building grenache\n")
		if exe, err = build(ctx, dir); err != nil {
			fmt.Fprintf(os.Stderr, "scale: error: %v\n", err)
			return 1
		}
	} else if exe, err = filepath.Abs(exe); err != nil {
		fmt.Fprintf(os.Stderr, "scale: error: %v\n", err)
		return 1
	}

	cfg := config{bin: exe, grapes: *grapes, items: *items, jobs: *jobs, transports: ts, timeout: *timeout,
		seed: *seed, progress: os.Stderr, install: true}
	res, err := measure(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%v (%w)", err, context.Cause(ctx))
		}
		fmt.Fprintf(os.Stderr, "scale: error: %v\n", err)
		return 1
	}
	fmt.Print(res.table())
	fmt.Fprintf(os.Stderr, "scale: %v in all\n", time.Since(started).Round(time.Second))
	rc := 0
	if res.stopError != nil {
		fmt.Fprintf(os.Stderr, "scale: error: %v\n", res.stopError)
		rc = 1
	}
	if res.cut != nil {
		fmt.Fprintf(os.Stderr, "scale: error: cut short: %v; the table counts what ran\n", res.cut)
		if !errors.Is(res.cut, errDeadline) {
			return 130
		}
		rc = 1
	}
	if *out != "" {
		doc := document(res, cfg, *deadline, os.Args[1:], started)
		if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "scale: error: %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "scale: wrote %s\n", *out)
	}
	return rc
}

// build builds the module's binary as make build does, into dir.
func build(ctx context.Context, dir string) (string, error) {
	exe := filepath.Join(dir, "grenache")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "urfave_cli_no_docs,nethttpomithttp2", "-trimpath", "-o", exe, "grenache")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return exe, nil
}

// document is the table with what it took to make it.
func document(res *result, cfg config, deadline time.Duration, args []string, started time.Time) string {
	var b strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	loadF := strings.Fields(string(load))
	var names []string
	for _, t := range cfg.transports {
		names = append(names, t.name)
	}
	cmdline := strings.TrimSpace("go run ./scripts/scale " + strings.Join(args, " "))
	fmt.Fprintf(&b, "# grenache at scale\n\n")
	fmt.Fprintf(&b, "Written by `%s` (`make scale`) on %s: %s, %s %s, %d CPUs, %s; load average %s at the end; %v in all, of which %v to start the grapes.\n\n",
		cmdline, started.UTC().Format(time.RFC3339), res.version, runtime.GOOS, strings.TrimSpace(string(kernel)),
		runtime.NumCPU(), runtime.Version(), strings.Join(loadF[:min(3, len(loadF))], " "),
		res.elapsed.Round(time.Second), res.startup.Round(time.Millisecond))
	fmt.Fprintf(&b, "Settings: -grapes %d -items %d -transports %s -jobs %d -timeout %v -deadline %v -seed %d.\n\n",
		cfg.grapes, cfg.items, strings.Join(names, ","), cfg.jobs, cfg.timeout, deadline, cfg.seed)
	fmt.Fprintf(&b, "%d grapes (`grape/grapenet`: grenache-grape on 127.0.0.1, each bootstrapping to all the others) on one machine. ", cfg.grapes)
	fmt.Fprintf(&b, "Every operation is one `grenache put` or `grenache get` process, as a user runs it, with `--timeout %v`, %d at a time; "+
		"half the items are immutable and half salted mutable (one key pair, made by `grenache keygen`). "+
		"A get must print the value put. Latencies are whole processes' wall times, of the successful operations only, in ms; "+
		"p99 is nearest-rank, so with fewer than 100 successes it is the slowest. A failure is counted by exit code, with the first message seen.\n\n",
		cfg.timeout, cfg.jobs)
	fmt.Fprintf(&b, "Transports:\n\n")
	for _, t := range cfg.transports {
		fmt.Fprintf(&b, "- %s: %s\n", t.name, t.desc)
	}
	fmt.Fprintf(&b, "\nFirst each item is put through a random grape and read through another one. "+
		"Then %d of the %d grapes are stopped (SIGTERM, by PID: grapes %s), and every item put is read through a random surviving grape, "+
		"and through a list of three grapes (one stopped grape and two random others, in random order: the flag's value is that list); "+
		"as many new items are put through a surviving grape, and as many through such lists.\n\n", len(res.stopped), cfg.grapes, intsList(res.stopped))
	b.WriteString(res.table())
	fmt.Fprintf(&b, "\nHow the grapes (bittorrent-dht 10.0.0) work, which the figures reflect: a put first looks its target up, "+
		"waiting for every node it queries to answer or time out (a stopped node: the KRPC timeout, 2 s checked every 0.5 s), "+
		"then stores the item on every node that answered the lookup: on a network this small, on every grape. "+
		"A get is answered at once from the grape's own store when it holds the item; otherwise by a lookup, "+
		"which may wait on stopped nodes too. "+
		"A list of grapes is tried in its order, skipping a grape that refuses the connection; "+
		"a list naming only stopped grapes cannot succeed, and its row says how many there were.\n")
	if res.cut != nil {
		fmt.Fprintf(&b, "\nThe run was cut short: %v. The counts are of the operations that ran.\n", res.cut)
	}
	return b.String()
}

func intsList(a []int) string {
	var s []string
	for _, i := range a {
		s = append(s, strconv.Itoa(i))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
