package applets

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/adrg/xdg"

	"github.com/rogpeppe/go-internal/testscript"

	"grenache/applets/state"
	"grenache/grape/grapetest"
)

// fakeGrapeKey finds a script's fake grape in its testscript values.
type fakeGrapeKey struct{}

// cmdForget makes the script's fake grape drop the item whose hash is in FILE,
// as a grape that restarted: forget FILE
func cmdForget(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: forget FILE")
	}
	srv, ok := ts.Value(fakeGrapeKey{}).(*grapetest.Server)
	if !ok {
		ts.Fatalf("forget: no fake grape in this script")
	}
	if hash := strings.TrimSpace(ts.ReadFile(args[0])); !srv.Forget(hash) {
		ts.Fatalf("forget: the fake grape holds no item %s", hash)
	}
}

// cmdGetExits runs grenache-get with the hash read from FILE (the output of an
// earlier put) and checks its exact exit code: getexits CODE FILE [OPTION]...
func cmdGetExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: getexits CODE FILE [OPTION]...")
	}
	hash := strings.TrimSpace(ts.ReadFile(args[1]))
	cmdExits(ts, false, append([]string{args[0], "grenache-get"}, append(args[2:], hash)...))
}

// runMainT runs Main in this process and returns its exit code and output.
func runMainT(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"grenache"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// keyedGrape starts a fake grape, gives the test its own folders (useKeyDirs)
// and a key pair, and returns the grape and its port.
func keyedGrape(t *testing.T) (*grapetest.Server, string) {
	t.Helper()
	srv := grapetest.NewServer()
	t.Cleanup(srv.Close)
	useKeyDirs(t)
	if code, _, errs := runMainT(t, "", "keygen"); code != 0 {
		t.Fatal(errs)
	}
	return srv, portOf(t, srv.URL)
}

// A batch reads the state once and writes it once, whatever its size; a get
// that sees nothing new writes nothing.
func TestFreshBatchWritesOnce(t *testing.T) {
	_, port := keyedGrape(t)
	const n = 20
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, `{"v":"value %d","salt":"s%d","seq":%d}`+"\n", i, i, 100+i)
	}
	saves := stateSaves.Load()
	code, out, errs := runMainT(t, in.String(), "put", "-p", port, "-m", "--batch")
	if code != 0 || errs != "" {
		t.Fatalf("put --batch: exit %d\n%s", code, errs)
	}
	if d := stateSaves.Load() - saves; d != 1 {
		t.Errorf("put --batch of %d items saved the state %d times, want 1", n, d)
	}
	// get's input: put's output as it is (each line carries its salt).
	get := out
	seqFile := func() []string {
		t.Helper()
		dir := userFolders().state
		if dir == "" {
			t.Fatal(userFolders().noState)
		}
		b, err := os.ReadFile(filepath.Join(dir, state.SeqFile))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	if lines := seqFile(); len(lines) != n {
		t.Fatalf("the state has %d lines after put --batch, want %d", len(lines), n)
	}
	for _, c := range []struct {
		name      string
		newState  bool
		wantSaves int64
	}{
		{"nothing new", false, 0},
		{"all new", true, 1},
		{"nothing new again", false, 0},
	} {
		if c.newState {
			t.Setenv("XDG_STATE_HOME", t.TempDir())
			xdg.Reload()
		}
		saves := stateSaves.Load()
		code, out, errs := runMainT(t, get, "get", "-p", port, "--batch")
		if code != 0 || errs != "" || strings.Count(out, `"v":"value `) != n {
			t.Fatalf("%s: get --batch: exit %d\n%s\n%s", c.name, code, out, errs)
		}
		if d := stateSaves.Load() - saves; d != c.wantSaves {
			t.Errorf("%s: get --batch saved the state %d times, want %d", c.name, d, c.wantSaves)
		}
		if lines := seqFile(); len(lines) != n {
			t.Errorf("%s: the state has %d lines, want %d", c.name, len(lines), n)
		}
	}
	// A single get of a seq already seen writes nothing.
	hash := strings.Split(get, `"`)[3]
	saves = stateSaves.Load()
	if code, out, errs := runMainT(t, "", "get", "-p", port, "-s", "s0", hash); code != 0 || out != "value 0\n" {
		t.Fatalf("get: exit %d, %q\n%s", code, out, errs)
	}
	if d := stateSaves.Load() - saves; d != 0 {
		t.Errorf("a get of a seq already seen saved the state %d times", d)
	}
}

// Within one get --batch, an answer older than one already printed for the same
// item is refused too, though the state file knew neither.
func TestFreshWithinBatch(t *testing.T) {
	srv, port := keyedGrape(t)
	e := &hostileEnv{upstream: srv.URL}
	var hash string
	answers := map[int][]byte{}
	for _, n := range []int{7, 9} {
		code, out, errs := runMainT(t, "", "put", "-p", port, "-m", "-n", strconv.Itoa(n), "value "+strconv.Itoa(n))
		if code != 0 {
			t.Fatal(errs)
		}
		hash = strings.TrimSpace(out)
		answers[n] = e.fetch(t, hash, "")
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the state knows neither
	xdg.Reload()
	var calls atomic.Int32
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Write(answers[9])
		} else {
			w.Write(answers[7])
		}
	}))
	t.Cleanup(replay.Close)
	code, out, errs := runMainT(t, hash+"\n"+hash+"\n", "get", "-p", portOf(t, replay.URL), "--batch", "--jobs", "1")
	want := `{"hash":"` + hash + `","v":"value 9","k":"` + fieldOf(answers[9], "k")[1:65] + `","seq":9}` + "\n" +
		`{"hash":"` + hash + `","error":"the grape answered seq 7 for ` + hash + `, older than seq 9 already seen","exit":4}` + "\n"
	if code != ExitUnverified || out != want {
		t.Errorf("exit %d, want 4; stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errs)
	}
}
