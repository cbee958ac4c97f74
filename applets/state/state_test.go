package state

import (
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"grenache/bep44"
)

func target(i int) bep44.Target { return sha1.Sum([]byte(strconv.Itoa(i))) }

// collect returns a Warn that keeps the messages.
func collect(s *Store) *[]string {
	var msgs []string
	var mu sync.Mutex
	s.Warn = func(m string) {
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
	}
	return &msgs
}

func mustSeen(t *testing.T, s *Store, tg bep44.Target) (int64, bool) {
	t.Helper()
	n, ok, err := s.Seen(tg)
	if err != nil {
		t.Fatal(err)
	}
	return n, ok
}

func TestRecordMergesByMax(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "grenache"))
	if _, ok := mustSeen(t, s, target(1)); ok {
		t.Fatal("a new store remembers something")
	}
	if err := s.Record(map[bep44.Target]int64{target(1): 7, target(2): 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(map[bep44.Target]int64{target(1): 5, target(2): 4, target(3): 0}); err != nil {
		t.Fatal(err)
	}
	want := map[bep44.Target]int64{target(1): 7, target(2): 4, target(3): 0}
	got, err := s.Seqs()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after two records (-want +got):\n%s", diff)
	}
	for tg, n := range want {
		if got, ok := mustSeen(t, s, tg); !ok || got != n {
			t.Errorf("Seen(%s) = %d, %v; want %d", tg, got, ok, n)
		}
	}
	// The file is sorted, one "HEX SEQ" line per target.
	data, err := os.ReadFile(s.SeqPath())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("file has %d lines, want 3:\n%s", len(lines), data)
	}
	for i, l := range lines {
		if i > 0 && lines[i-1] >= l {
			t.Errorf("lines not sorted:\n%s", data)
		}
		f := strings.Fields(l)
		tg, _ := bep44.ParseTarget(f[0])
		if len(f) != 2 || f[1] != strconv.FormatInt(want[tg], 10) {
			t.Errorf("line %q, want HEX %d", l, want[tg])
		}
	}
}

func TestReplaceLowers(t *testing.T) {
	s := Open(t.TempDir())
	if err := s.Record(map[bep44.Target]int64{target(1): 7, target(2): 9}); err != nil {
		t.Fatal(err)
	}
	if err := s.Replace(map[bep44.Target]int64{target(1): 5}); err != nil {
		t.Fatal(err)
	}
	if n, _ := mustSeen(t, s, target(1)); n != 5 {
		t.Errorf("after Replace: %d, want 5", n)
	}
	if n, _ := mustSeen(t, s, target(2)); n != 9 {
		t.Errorf("another target changed: %d, want 9", n)
	}
}

// Nothing is written when nothing rose: the file keeps its inode and content.
func TestNoWriteWithoutRise(t *testing.T) {
	s := Open(t.TempDir())
	if err := s.Record(map[bep44.Target]int64{target(1): 7}); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(s.SeqPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{7, 6, 0} {
		if err := s.Record(map[bep44.Target]int64{target(1): n}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := os.Stat(s.SeqPath())
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the file was rewritten though no number rose")
	}
}

func TestOutOfRange(t *testing.T) {
	s := Open(t.TempDir())
	for _, n := range []int64{-1, bep44.MaxSeq + 1} {
		if err := s.Record(map[bep44.Target]int64{target(1): n}); err == nil {
			t.Errorf("Record(%d) succeeded", n)
		}
	}
	if err := s.Record(map[bep44.Target]int64{target(1): bep44.MaxSeq}); err != nil {
		t.Fatal(err)
	}
	if n, _ := mustSeen(t, s, target(1)); n != bep44.MaxSeq {
		t.Errorf("got %d, want %d", n, int64(bep44.MaxSeq))
	}
}

func TestMalformedLines(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	msgs := collect(s)
	t1, t2, t3, t4 := target(1), target(2), target(3), target(4)
	content := strings.Join([]string{
		"# a comment",
		t1.String() + " 7",
		"",
		"garbage",
		t2.String() + " -3",
		t3.String() + " 12 extra",
		strings.ToUpper(t4.String()) + " 4", // hand-typed upper case: understood by a full read
		t2.String() + " 99999999999999999999",
		t1.String() + " 9", // a target twice: the highest counts
		"  " + t3.String() + "   5  ",
		t2.String() + " 0x10",
	}, "\n") // no final newline
	if err := os.WriteFile(s.SeqPath(), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Seqs()
	if err != nil {
		t.Fatal(err)
	}
	want := map[bep44.Target]int64{t1: 9, t3: 5, t4: 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Seqs (-want +got):\n%s", diff)
	}
	if len(*msgs) != 1 || !strings.Contains((*msgs)[0], "ignoring 5 line(s)") || !strings.Contains((*msgs)[0], "line 4") {
		t.Errorf("warnings: %q, want one about 5 lines, the first line 4", *msgs)
	}
	*msgs = nil
	if n, ok := mustSeen(t, s, t1); !ok || n != 9 {
		t.Errorf("Seen(t1) = %d, %v; want 9", n, ok)
	}
	if _, ok := mustSeen(t, s, t2); ok {
		t.Error("Seen(t2) found a number in a malformed line")
	}
	if len(*msgs) == 0 {
		t.Error("no warning about the target's own malformed line")
	}
	*msgs = nil
	// The next write (the whole file: it has hand-typed upper case) keeps what
	// was understood and drops the rest.
	if err := s.Record(map[bep44.Target]int64{t2: 1}); err != nil {
		t.Fatal(err)
	}
	want[t2] = 1
	*msgs = nil
	got, _ = s.Seqs()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after a write (-want +got):\n%s", diff)
	}
	if len(*msgs) != 0 {
		t.Errorf("warnings after the rewrite: %q", *msgs)
	}
}

func TestBinaryGarbageNeverCrashes(t *testing.T) {
	s := Open(t.TempDir())
	collect(s)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		b := make([]byte, r.IntN(300))
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		if i%2 == 0 {
			b = append([]byte(target(1).String()+" "), b...)
		}
		if err := os.WriteFile(s.SeqPath(), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s.Seen(target(1))
		s.Seqs()
		if err := s.Record(map[bep44.Target]int64{target(1): int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "grenache")
	s := Open(dir)
	if err := s.Record(map[bep44.Target]int64{target(1): 1}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, s.SeqPath(): 0o600, s.SeqPath() + ".lock": 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s: mode %04o, want at most %04o", path, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("folder holds %d entries, want seq and seq.lock: %v", len(entries), entries)
	}
}

// A folder that cannot be written (here: a file stands where it should be, which
// stops root too) is an error for writers and nothing remembered for readers.
func TestUnwritableFolder(t *testing.T) {
	parent := t.TempDir()
	blocker := filepath.Join(parent, "grenache")
	if err := os.WriteFile(blocker, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Open(blocker)
	if err := s.Record(map[bep44.Target]int64{target(1): 1}); err == nil {
		t.Error("Record succeeded in a folder that is a file")
	}
	if _, ok, err := s.Seen(target(1)); ok || err == nil {
		t.Errorf("Seen: ok %v, err %v; want nothing and an error", ok, err)
	}
	// No folder at all.
	if err := Open("").Record(map[bep44.Target]int64{target(1): 1}); err != ErrNoFolder {
		t.Errorf("Record without a folder: %v, want ErrNoFolder", err)
	}
	// A read-only folder, for users other than root.
	if os.Getuid() != 0 {
		ro := t.TempDir()
		if err := os.Chmod(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(ro, 0o700) })
		if err := Open(ro).Record(map[bep44.Target]int64{target(1): 1}); err == nil {
			t.Error("Record succeeded in a read-only folder")
		}
	}
}

// plan is what writer w records, the same in every process that computes it.
func plan(w, rounds int) []map[bep44.Target]int64 {
	r := rand.New(rand.NewPCG(uint64(w), 99))
	out := make([]map[bep44.Target]int64, rounds)
	for i := range out {
		m := map[bep44.Target]int64{}
		for range 1 + r.IntN(3) {
			m[target(r.IntN(12))] = r.Int64N(1 << 40)
		}
		out[i] = m
	}
	return out
}

const childEnv = "GRENACHE_STATE_TEST_CHILD"

// TestMain lets the test binary act as a writer process: with childEnv set to
// "DIR FIRST COUNT ROUNDS" it runs writers FIRST..FIRST+COUNT-1 and exits.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		var dir string
		var first, count, rounds int
		if _, err := fmt.Sscan(spec, &dir, &first, &count, &rounds); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := runWriters(dir, first, count, rounds); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runWriters(dir string, first, count, rounds int) error {
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for w := first; w < first+count; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := Open(dir) // a store of its own, as another process would have
			s.Warn = func(m string) { errs <- fmt.Errorf("writer %d: warning: %s", w, m) }
			for _, m := range plan(w, rounds) {
				if err := s.Record(m); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				// Readers never see a partial file.
				if _, err := s.Seqs(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// Many goroutines in many processes record at once: no update is lost, no
// number goes down, no reader sees a partial file, no temporary file is left.
func TestConcurrentWriters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "grenache")
	const procs, perProc, rounds = 6, 4, 40
	var wg sync.WaitGroup
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d %d", childEnv, dir, p*perProc, perProc, rounds))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("writer process %d: %v\n%s", p, err, out)
			}
		}()
	}
	// And goroutines of this process, at the same time.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := runWriters(dir, procs*perProc, perProc, rounds); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()

	want := map[bep44.Target]int64{}
	for w := range (procs + 1) * perProc {
		for _, m := range plan(w, rounds) {
			for tg, n := range m {
				want[tg] = max(want[tg], n)
			}
		}
	}
	got, err := Open(dir).Seqs()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("final numbers are not the maxima recorded (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != SeqFile && e.Name() != SeqFile+".lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// Save sets, then raises, in one write.
func TestSave(t *testing.T) {
	s := Open(t.TempDir())
	if err := s.Record(map[bep44.Target]int64{target(1): 7, target(2): 7, target(3): 7}); err != nil {
		t.Fatal(err)
	}
	err := s.Save(
		map[bep44.Target]int64{target(2): 8, target(3): 3, target(4): 1, target(5): 2},
		map[bep44.Target]int64{target(1): 5, target(3): 2, target(4): 4, target(6): 6},
	)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Seqs()
	want := map[bep44.Target]int64{target(1): 5, target(2): 8, target(3): 3, target(4): 4, target(5): 2, target(6): 6}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Save (-want +got):\n%s", diff)
	}
}

// Single-target updates (changed in place) and several-target ones (the file
// read whole) agree with a model, on files as written and as edited by hand.
func TestSpliceMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 30 {
		s := Open(t.TempDir())
		collect(s)
		model := map[bep44.Target]int64{}
		// A start as written by hand in some rounds.
		var start strings.Builder
		for i := range r.IntN(6) {
			tg, n := target(r.IntN(10)), r.Int64N(50)
			h := tg.String()
			switch (round + i) % 5 {
			case 1:
				h = strings.ToUpper(h)
			case 2:
				h = " " + h
			case 3:
				h += "\t"
			}
			fmt.Fprintf(&start, "%s %d\n", h, n)
			model[tg] = max(model[tg], n)
		}
		if round%4 == 0 {
			start.WriteString("# comment\n")
		}
		if err := os.WriteFile(s.SeqPath(), []byte(start.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		for range 40 {
			tg, n := target(r.IntN(10)), r.Int64N(60)
			var err error
			switch r.IntN(4) {
			case 0:
				err = s.Replace(map[bep44.Target]int64{tg: n})
				model[tg] = n
			case 1:
				tg2 := target(10 + r.IntN(5))
				err = s.Record(map[bep44.Target]int64{tg: n, tg2: n + 1})
				model[tg] = max(model[tg], n)
				if old, ok := model[tg2]; !ok || n+1 > old {
					model[tg2] = n + 1
				}
			default:
				err = s.Record(map[bep44.Target]int64{tg: n})
				if old, ok := model[tg]; !ok || n > old {
					model[tg] = n
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := s.Seqs()
			if diff := cmp.Diff(model, got); diff != "" {
				data, _ := os.ReadFile(s.SeqPath())
				t.Fatalf("round %d: (-model +file):\n%s\nfile:\n%s", round, diff, data)
			}
			for tg, n := range model {
				if got, ok := mustSeen(t, s, tg); !ok || got != n {
					t.Fatalf("round %d: Seen(%s) = %d, %v; want %d", round, tg, got, ok, n)
				}
			}
		}
	}
}
