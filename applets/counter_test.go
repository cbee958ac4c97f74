//go:build integration

package applets

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"grenache/bep44"
	"grenache/grape/grapenet"
)

const (
	counterWriters    = 8
	counterIncrements = 25
	// counterBound bounds each run of the script: 25 increments, each a get
	// and a put of a few milliseconds, plus at most 200 conflicts, each a
	// get, a put and a pause of under 0.1s, with room for a slow machine.
	counterBound = 2 * time.Minute
)

// counterRun is what one process of scripts/counter.sh left.
type counterRun struct {
	lines     [][2]string // "SEQ VALUE" lines
	hash      string
	conflicts int
}

var counterSummary = regexp.MustCompile(`(?m)^counter\.sh: ([0-9a-f]{40}): (\d+) increments, (\d+) conflicts retried$`)

// runCounters runs scripts/counter.sh in counterWriters processes at once,
// each adding counterIncrements to the counter under salt, all writing
// through the grape on port.
func runCounters(t *testing.T, env []string, port int, salt string, extra ...string) []counterRun {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "scripts", "counter.sh"))
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, extra...),
		"-g", "127.0.0.1", "-p", strconv.Itoa(port), "--timeout", "5s", salt, strconv.Itoa(counterIncrements))
	runs := make([]counterRun, counterWriters)
	errs := make([]error, counterWriters)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := spawnProc(script, env, "", counterBound, args...)
			if err == nil && r.code != 0 {
				err = fmt.Errorf("exit %d\n%v", r.code, r)
			}
			if err == nil {
				runs[i], err = parseCounterRun(r)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("counter.sh process %d: %v", i, err)
		}
	}
	return runs
}

func parseCounterRun(r procResult) (counterRun, error) {
	var run counterRun
	m := counterSummary.FindStringSubmatch(r.stderr)
	if m == nil {
		return run, fmt.Errorf("no summary line on stderr\n%v", r)
	}
	run.hash = m[1]
	run.conflicts, _ = strconv.Atoi(m[3])
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		seq, value, ok := strings.Cut(line, " ")
		if !ok {
			return run, fmt.Errorf("output line %q is not \"SEQ VALUE\"\n%v", line, r)
		}
		run.lines = append(run.lines, [2]string{seq, value})
	}
	if len(run.lines) != counterIncrements || m[2] != strconv.Itoa(counterIncrements) {
		return run, fmt.Errorf("%d values stored, want %d\n%v", len(run.lines), counterIncrements, r)
	}
	return run, nil
}

// buildGrenache builds grenache into a fresh folder, with the links `make
// install` makes, and returns the folder. The script runs hundreds of short
// processes: the test binary's copies that TestMain installs start slowly
// under the race detector, which stretches every read-modify-write and so
// the conflicts; a plain build is what users run anyway.
func buildGrenache(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "grenache")
	cmd := exec.Command(goTool, "build", "-o", exe, "grenache")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, a := range registry {
		if err := os.Symlink("grenache", filepath.Join(dir, "grenache-"+a.name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readCounter gets the counter through the grape on port and returns its
// seq and value.
func readCounter(t *testing.T, env []string, port int, salt, hash string) (int64, string) {
	t.Helper()
	r := runProc(t, env, "grenache-get", "-g", "127.0.0.1", "-p", strconv.Itoa(port), "--timeout", "5s", "--raw", "--salt", salt, hash)
	expectProc(t, "get the counter", r, ExitOK)
	var item struct {
		Seq int64  `json:"seq"`
		V   string `json:"v"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &item); err != nil {
		t.Fatalf("get --raw printed %q: %v", r.stdout, err)
	}
	return item.Seq, item.V
}

// TestCounter runs the read-modify-write example, scripts/counter.sh, in 8
// processes at once against two real grapes, 25 increments each, every write
// through grape 1: with --cas the counter ends at 200 and every process saw
// its sequence numbers increase. Then two writers interleaved by hand show the
// update that is lost without --cas and refused with it.
func TestCounter(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("jq is not installed, and scripts/counter.sh needs it: %v\nhint: apt-get install jq (as root, `make deps` does it)", err)
	}
	bin := buildGrenache(t)
	gn := grapenet.Start(t, 2)
	writePort, readPort := gn.Grapes[0].APIPort, gn.Grapes[1].APIPort
	env := procEnv(t, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	kg := runProc(t, env, "grenache-keygen")
	expectProc(t, "keygen", kg, ExitOK)
	pub, err := hex.DecodeString(strings.TrimSpace(kg.stdout))
	if err != nil {
		t.Fatalf("keygen printed %q: %v", kg.stdout, err)
	}
	const total = counterWriters * counterIncrements

	t.Run("cas", func(t *testing.T) {
		const salt = "counter:cas"
		want := bep44.MutableTarget(pub, []byte(salt)).String()
		runs := runCounters(t, env, writePort, salt)
		var seqs []int
		conflicts := 0
		for i, run := range runs {
			if run.hash != want {
				t.Errorf("process %d: counter hash %s, want %s", i, run.hash, want)
			}
			conflicts += run.conflicts
			last := 0
			for _, l := range run.lines {
				seq, err := strconv.Atoi(l[0])
				if err != nil || l[1] != l[0] {
					t.Errorf("process %d stored seq %q value %q: the value is not the seq", i, l[0], l[1])
				}
				if seq <= last {
					t.Errorf("process %d stored seq %d after seq %d: not increasing", i, seq, last)
				}
				last = seq
				seqs = append(seqs, seq)
			}
		}
		// Every seq from 1 to 200 was stored exactly once: no write was
		// lost and none was made twice.
		sort.Ints(seqs)
		var all []int
		for i := 1; i <= total; i++ {
			all = append(all, i)
		}
		if diff := cmp.Diff(all, seqs); diff != "" {
			t.Errorf("stored seqs mismatch (-want +got):\n%s", diff)
		}
		for _, port := range []int{writePort, readPort} {
			seq, v := readCounter(t, env, port, salt, want)
			if seq != total || v != strconv.Itoa(total) {
				t.Errorf("counter read through port %d: seq %d value %q, want seq %d value %q", port, seq, v, total, strconv.Itoa(total))
			}
		}
		t.Logf("with --cas: %d writers x %d increments: final value %d, %d conflicts retried", counterWriters, counterIncrements, total, conflicts)
	})

	// What --cas is for, shown without depending on timing: two writers read
	// the same version and both store value+1. Without --cas the second
	// replaces the first and one increment is lost; with --cas it is refused
	// (exit 5) and stores nothing.
	t.Run("lost update", func(t *testing.T) {
		const salt = "counter:lost"
		hash := bep44.MutableTarget(pub, []byte(salt)).String()
		put := func(want int, args ...string) {
			t.Helper()
			r := runProc(t, env, "grenache-put", append([]string{"-g", "127.0.0.1", "-p", strconv.Itoa(writePort), "--timeout", "5s", "--mutable", "--salt", salt}, args...)...)
			expectProc(t, "put "+strings.Join(args, " "), r, want)
		}
		put(ExitOK, "-n", "1", "0")
		seqA, vA := readCounter(t, env, readPort, salt, hash) // writer A reads
		seqB, vB := readCounter(t, env, readPort, salt, hash) // writer B reads the same
		if seqA != 1 || vA != "0" || seqB != 1 || vB != "0" {
			t.Fatalf("read seq %d value %q and seq %d value %q, want seq 1 value \"0\" twice", seqA, vA, seqB, vB)
		}
		put(ExitOK, "--cas", "1", "-n", "2", "1")       // A stores 0+1
		put(ExitConflict, "--cas", "1", "-n", "3", "1") // B with --cas: refused
		if seq, v := readCounter(t, env, readPort, salt, hash); seq != 2 || v != "1" {
			t.Fatalf("after the refused write: seq %d value %q, want seq 2 value \"1\"", seq, v)
		}
		put(ExitOK, "-n", "3", "1") // B without --cas: stored over A's
		if seq, v := readCounter(t, env, readPort, salt, hash); seq != 3 || v != "1" {
			t.Fatalf("two increments without --cas: seq %d value %q, want seq 3 value \"1\" (one increment lost)", seq, v)
		}
	})
}
