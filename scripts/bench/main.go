// Command bench times grenache as a process against one-shot curl, on two
// grapes of its own (grapenet), with hyperfine, and writes a markdown report.
//
//	go run ./scripts/bench [-bin ./grenache] [-baseline OLD] [-out docs/bench.md] [-runs 100] [-items 1000]
//
// make bench builds the binary, installs curl and hyperfine when missing, and
// runs it. Single items: put, put --mutable --salt, get and get --salt of a
// mutable item, each as a grenache process and as a curl process posting the
// very body grenache sends. Then -items items in one --batch process against
// a shell loop of one process per item. With -baseline, each single-item
// command of another build is timed in the same hyperfine runs, so that a
// change's cost is measured under the same load. The in-process costs are the Go
// benchmarks (go test -bench ./bep44 ./grape ./applets/state), whose lines the report quotes.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"grenache/bep44"
	"grenache/grape"
	"grenache/grape/grapenet"
	"grenache/keystore"
)

var (
	bin    = flag.String("bin", "./grenache", "the grenache binary to time")
	out    = flag.String("out", "docs/bench.md", "the report to write")
	runs   = flag.Int("runs", 100, "timed runs of each single-item command")
	warmup = flag.Int("warmup", 5, "untimed runs before them")
	items  = flag.Int("items", 1000, "items of the batch timings (0: none)")
	base   = flag.String("baseline", "", "another grenache binary (an earlier build) to time in the same runs")
)

// goBenchPackages hold the Go benchmarks whose lines the report quotes.
var goBenchPackages = []string{"./bep44", "./grape", "./applets/state"}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: error: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	if *runs < 2 || *warmup < 0 || *items < 0 {
		return errors.New("-runs must be at least 2, -warmup and -items not negative")
	}
	exe, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(exe); err != nil {
		return fmt.Errorf("%v (run make build first)", err)
	}
	for _, tool := range []string{"curl", "hyperfine"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed: apt-get install %s (make bench installs it as root)", tool, tool)
		}
	}
	tmp, err := os.MkdirTemp("", "grenache-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	gn, err := grapenet.Launch(2, grapenet.Options{Install: true, InstallOutput: os.Stderr})
	if err != nil {
		return err
	}
	defer gn.Stop()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-sig
		gn.Stop()
		os.RemoveAll(tmp)
		os.Exit(130)
	}()

	b := &bench{exe: exe, tmp: tmp, put: gn.Grapes[0].APIPort, get: gn.Grapes[1].APIPort, nonce: strconv.FormatInt(time.Now().UnixNano()%1e8, 36)}
	b.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(tmp, "home"), "XDG_CONFIG_HOME=" + filepath.Join(tmp, "config"), "LC_ALL=C"}
	load, _ := os.ReadFile("/proc/loadavg")
	rep := report{load: strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " ")}
	if rep.version, err = b.grenache("--version"); err != nil {
		return err
	}
	if *base != "" {
		if b.baseline, err = filepath.Abs(*base); err != nil {
			return err
		}
		if rep.baseVersion, err = output(b.baseline, "--version"); err != nil {
			return fmt.Errorf("-baseline: %w", err)
		}
	}
	if _, err := b.grenache("keygen"); err != nil {
		return err
	}
	pair, err := (&keystore.Store{Dir: filepath.Join(tmp, "config", "grenache")}).Load()
	if err != nil {
		return err
	}
	if b.signer, err = bep44.NewSigner(pair.Private); err != nil {
		return err
	}
	rep.hyperfine, _ = output("hyperfine", "--version")

	ops, err := b.singles()
	if err != nil {
		return err
	}
	for _, op := range ops {
		r, err := b.hyperfine(op)
		if err != nil {
			return fmt.Errorf("%s: %w", op.name, err)
		}
		rep.singles = append(rep.singles, r)
	}
	if *items > 0 {
		if rep.batches, err = b.batches(); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, "bench: go test -run '^$' -bench . -benchmem "+strings.Join(goBenchPackages, " "))
	if rep.gobench, err = goBench(); err != nil {
		return err
	}
	if err := os.WriteFile(*out, rep.markdown(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", *out)
	return nil
}

type bench struct {
	exe, tmp, nonce string
	baseline        string // -baseline, absolute; "" without
	put, get        int    // API ports: puts through grape 1, gets through grape 2
	env             []string
	signer          bep44.Signer
}

// grenache runs the binary once and returns its standard output, trimmed.
func (b *bench) grenache(args ...string) (string, error) {
	cmd := exec.Command(b.exe, args...)
	cmd.Env = b.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	o, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("grenache %s: %v: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(string(o)), nil
}

func output(name string, args ...string) (string, error) {
	o, err := exec.Command(name, args...).Output()
	return strings.TrimSpace(string(o)), err
}

// op is one single-item operation: grenache's arguments, and the bodies curl
// posts (several for a mutable put, each with the next seq; hyperfine's
// prepare step moves the next one into place).
type op struct {
	name   string
	args   []string
	path   string // put or get
	port   int
	bodies [][]byte
	after  func(lastBody []byte) error // checks the grapes after the timing
}

func (b *bench) addr(port int) []string { return []string{"-g", "127.0.0.1", "-p", strconv.Itoa(port)} }

func (b *bench) value(what string) string {
	return "sensor " + what + ": temperature 21.5 C, humidity 40 % [" + b.nonce + "]"
}

func (b *bench) singles() ([]op, error) {
	must := func(body []byte, err error) []byte {
		if err != nil {
			panic(err)
		}
		return body
	}
	imm := b.value("immutable put")
	// Salts of one length: grenache's and curl's items differ, so that
	// their sequence numbers never meet.
	saltG, saltC, saltR := "bench-g-"+b.nonce, "bench-c-"+b.nonce, "bench-r-"+b.nonce
	var mutBodies [][]byte
	for seq := int64(1); seq <= int64(2*(*runs+*warmup)+10); seq++ {
		it, err := bep44.NewMutable(b.signer, []byte(saltC), seq, []byte(b.value("mutable put")))
		if err != nil {
			return nil, err
		}
		mutBodies = append(mutBodies, must(grape.PutBody(it, nil)))
	}
	// The items the gets read, stored through grape 1 and read through grape 2.
	immGet, mutGet := b.value("stored immutable"), b.value("stored mutable")
	hImm, err := b.grenache(append(append([]string{"put"}, b.addr(b.put)...), immGet)...)
	if err != nil {
		return nil, err
	}
	hMut, err := b.grenache(append(append([]string{"put"}, b.addr(b.put)...), "-m", "-s", saltR, mutGet)...)
	if err != nil {
		return nil, err
	}
	tImm, _ := bep44.ParseTarget(hImm)
	tMut, _ := bep44.ParseTarget(hMut)
	ops := []op{
		{"put", append(append([]string{"put"}, b.addr(b.put)...), imm), "put", b.put,
			[][]byte{must(grape.PutBody(&bep44.Item{V: []byte(imm)}, nil))}, nil},
		{"put --mutable --salt", append(append([]string{"put"}, b.addr(b.put)...), "-m", "-s", saltG, b.value("mutable put")), "put", b.put, mutBodies,
			func(last []byte) error { return b.checkStored(saltC, last) }},
		{"get", append(append([]string{"get"}, b.addr(b.get)...), hImm), "get", b.get, [][]byte{must(grape.GetBody(tImm, nil))}, nil},
		{"get --salt (mutable)", append(append([]string{"get"}, b.addr(b.get)...), "-s", saltR, hMut), "get", b.get,
			[][]byte{must(grape.GetBody(tMut, []byte(saltR)))}, nil},
	}
	// Each grenache command works before it is timed (hyperfine fails on
	// an exit code other than 0, and curl -f on an HTTP error).
	deadline := time.Now().Add(10 * time.Second)
	for _, o := range ops {
		for {
			got, err := b.grenache(o.args...)
			if err == nil && (o.path == "put" || got == immGet || got == mutGet) {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s: printed %q, %v", o.name, got, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return ops, nil
}

// quote makes args one command line for hyperfine -N (split as a shell would).
func quote(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

type result struct {
	name                 string
	median, mean, stddev float64 // seconds
}

type single struct {
	name           string
	grenache, curl result
	baseline       *result // with -baseline
}

// hyperfine times grenache against curl for one operation.
func (b *bench) hyperfine(o op) (single, error) {
	dir := filepath.Join(b.tmp, strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(o.name))
	queue := filepath.Join(dir, "queue")
	if err := os.MkdirAll(queue, 0o755); err != nil {
		return single{}, err
	}
	for i, body := range o.bodies {
		if err := os.WriteFile(filepath.Join(queue, fmt.Sprintf("%06d.json", i)), body, 0o644); err != nil {
			return single{}, err
		}
	}
	body := filepath.Join(dir, "body.json")
	if err := os.Rename(filepath.Join(queue, "000000.json"), body); err != nil {
		return single{}, err
	}
	ua, _ := b.grenache("--version")
	curl := quote("curl", "-sSf", "--max-time", "10", "-A", "grenache/"+strings.TrimPrefix(ua, "grenache "),
		"-H", "Content-Type: application/json", "--data-binary", "@"+body,
		"http://127.0.0.1:"+strconv.Itoa(o.port)+"/"+o.path)
	args := []string{"-N", "--style", "basic", "--warmup", strconv.Itoa(*warmup), "--runs", strconv.Itoa(*runs),
		"--export-json", filepath.Join(dir, "hyperfine.json")}
	if len(o.bodies) > 1 {
		// The next signed body (the next seq), before each of curl's runs.
		next := `set -- ` + quote(queue) + `/*; mv "$1" ` + quote(body)
		args = append(args, "--prepare", "true")
		if b.baseline != "" {
			args = append(args, "--prepare", "true")
		}
		args = append(args, "--prepare", quote("sh", "-c", next))
	}
	args = append(args, "-n", "grenache", quote(append([]string{b.exe}, o.args...)...))
	if b.baseline != "" {
		args = append(args, "-n", "baseline", quote(append([]string{b.baseline}, o.args...)...))
	}
	args = append(args, "-n", "curl", curl)
	fmt.Fprintf(os.Stderr, "bench: %s\n", o.name)
	rs, err := b.runHyperfine(args, filepath.Join(dir, "hyperfine.json"))
	if err != nil {
		return single{}, err
	}
	if o.after != nil {
		last, err := os.ReadFile(body)
		if err == nil {
			err = o.after(last)
		}
		if err != nil {
			return single{}, err
		}
	}
	if b.baseline != "" {
		return single{o.name, rs[0], rs[2], &rs[1]}, nil
	}
	return single{o.name, rs[0], rs[1], nil}, nil
}

// checkStored: a stale seq is answered HTTP 302, which curl -f does not
// fail on; the item under salt must hold the seq of the last body curl
// posted, so every body before it was fresh too.
func (b *bench) checkStored(salt string, last []byte) error {
	var put struct{ Data struct{ Seq int64 } }
	if err := json.Unmarshal(last, &put); err != nil {
		return err
	}
	hash := bep44.MutableTarget(b.signer.PublicKey(), []byte(salt)).String()
	raw, err := b.grenache(append(append([]string{"get", "--raw"}, b.addr(b.put)...), "-s", salt, hash)...)
	if err != nil {
		return err
	}
	var got struct{ Seq int64 }
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		return err
	}
	if got.Seq != put.Data.Seq || got.Seq < int64(*runs) {
		return fmt.Errorf("curl's mutable item holds seq %d, want %d (the last body posted, after %d runs)", got.Seq, put.Data.Seq, *runs)
	}
	return nil
}

func (b *bench) runHyperfine(args []string, jsonPath string) ([]result, error) {
	cmd := exec.Command("hyperfine", args...)
	cmd.Env = b.env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("hyperfine: %w", err)
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Results []struct {
			Command              string
			Median, Mean, Stddev float64
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	var rs []result
	for _, r := range doc.Results {
		rs = append(rs, result{r.Command, r.Median, r.Mean, r.Stddev})
	}
	return rs, nil
}

type batch struct {
	name        string
	batch, loop result
}

// batches times *items puts, then gets, in one --batch process against a
// shell loop of one grenache process per item.
func (b *bench) batches() ([]batch, error) {
	var values, lines, hashes strings.Builder
	for i := range *items {
		v := b.value(fmt.Sprintf("batch item %04d", i))
		values.WriteString(v + "\n")
		j, _ := json.Marshal(v)
		lines.Write(append(j, '\n'))
		hashes.WriteString(bep44.ImmutableTarget([]byte(v)).String() + "\n")
	}
	files := map[string]string{"values.txt": values.String(), "items.ndjson": lines.String(), "hashes.txt": hashes.String()}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(b.tmp, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	f := func(name string) string { return quote(filepath.Join(b.tmp, name)) }
	exe := quote(b.exe)
	put, get := strings.Join(b.addr(b.put), " "), strings.Join(b.addr(b.get), " ")
	var out []batch
	for _, c := range [][3]string{
		{"put", exe + " put --batch " + put + " <" + f("items.ndjson"),
			`while IFS= read -r v; do ` + exe + " put " + put + ` "$v"; done <` + f("values.txt")},
		{"get", exe + " get --batch " + get + " <" + f("hashes.txt"),
			`while read -r h; do ` + exe + " get " + get + ` "$h"; done <` + f("hashes.txt")},
	} {
		fmt.Fprintf(os.Stderr, "bench: %d items, %s\n", *items, c[0])
		jsonPath := filepath.Join(b.tmp, "batch-"+c[0]+".json")
		rs, err := b.runHyperfine([]string{"--style", "basic", "--warmup", "1", "--runs", "3", "--export-json", jsonPath,
			"-n", "batch", c[1], "-n", "loop", c[2]}, jsonPath)
		if err != nil {
			return nil, err
		}
		out = append(out, batch{c[0], rs[0], rs[1]})
	}
	return out, nil
}

func goBench() ([]string, error) {
	cmd := exec.Command("go", append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem"}, goBenchPackages...)...)
	cmd.Stderr = os.Stderr
	o, err := cmd.Output()
	os.Stderr.Write(o)
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(o), "\n") {
		if strings.HasPrefix(l, "pkg: ") || strings.HasPrefix(l, "Benchmark") {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

type report struct {
	version, hyperfine, load string
	baseVersion              string // the baseline's --version
	singles                  []single
	batches                  []batch
	gobench                  []string
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

func (r *report) markdown() []byte {
	var w bytes.Buffer
	ms := func(s float64) string { return fmt.Sprintf("%.2f", s*1000) }
	fmt.Fprintf(&w, "# Benchmarks\n\nWritten by `make bench` (`go run ./scripts/bench -out docs/bench.md`) on %s: %s, linux %s, %d CPUs, %s, %s; load average %s at the start.\n\n",
		time.Now().UTC().Format(time.RFC3339), r.version, kernel(), runtime.NumCPU(), runtime.Version(), r.hyperfine, r.load)
	fmt.Fprintf(&w, "Two local grapes (grapenet, loopback); puts go through the first, gets through the second, so a get crosses the DHT. ")
	fmt.Fprintf(&w, "Every time is a whole process, started by `hyperfine -N` (no shell), %d timed runs after %d untimed ones; times in ms. ", *runs, *warmup)
	fmt.Fprintf(&w, "curl is one `curl` process posting the very request body grenache sends, as the original tool did (a salted mutable put: a freshly signed body, the next seq, for each run).\n\n")
	fmt.Fprintf(&w, "| operation | grenache median | curl median | grenache ÷ curl | grenache mean ± σ | curl mean ± σ |\n|---|--:|--:|--:|--:|--:|\n")
	for _, s := range r.singles {
		fmt.Fprintf(&w, "| %s | %s | %s | %.2f | %s ± %s | %s ± %s |\n", s.name, ms(s.grenache.median), ms(s.curl.median),
			s.grenache.median/s.curl.median, ms(s.grenache.mean), ms(s.grenache.stddev), ms(s.curl.mean), ms(s.curl.stddev))
	}
	if len(r.singles) > 0 && r.singles[0].baseline != nil {
		fmt.Fprintf(&w, "\nThe same runs, with a baseline build (`-baseline %s`, %s) timed between grenache and curl:\n\n", *base, r.baseVersion)
		fmt.Fprintf(&w, "| operation | grenache median | baseline median | grenache − baseline (ms) | grenache ÷ curl | baseline ÷ curl |\n|---|--:|--:|--:|--:|--:|\n")
		for _, s := range r.singles {
			fmt.Fprintf(&w, "| %s | %s | %s | %+.2f | %.2f | %.2f |\n", s.name, ms(s.grenache.median), ms(s.baseline.median),
				(s.grenache.median-s.baseline.median)*1000, s.grenache.median/s.curl.median, s.baseline.median/s.curl.median)
		}
	}
	if len(r.batches) > 0 {
		fmt.Fprintf(&w, "\n## %d items\n\nOne `grenache put --batch` (or `get --batch`) process against a shell loop of one grenache process per item; `hyperfine` through sh, 3 runs after 1 untimed; seconds.\n\n", *items)
		fmt.Fprintf(&w, "| operation | --batch, one process | one process per item | loop ÷ batch | ms per item, batch |\n|---|--:|--:|--:|--:|\n")
		for _, b := range r.batches {
			fmt.Fprintf(&w, "| %s | %.3f | %.3f | %.1f | %.3f |\n", b.name, b.batch.median, b.loop.median, b.loop.median/b.batch.median, b.batch.median*1000/float64(*items))
		}
	}
	fmt.Fprintf(&w, "\n## In-process costs\n\n`go test -run '^$' -bench . -benchmem %s`:\n\n```\n%s\n```\n", strings.Join(goBenchPackages, " "), strings.Join(r.gobench, "\n"))
	return w.Bytes()
}
