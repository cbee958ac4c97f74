package applets

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"grenache/grape/grapetest"
)

func runMain() { os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr)) }

// TestMain makes the test binary callable as grenache and as each applet's
// link name, so that scripts run the applets by argv[0] as a user does.
func TestMain(m *testing.M) {
	cmds := map[string]func(){"grenache": runMain}
	for _, a := range registry {
		cmds["grenache-"+a.name] = runMain
	}
	testscript.Main(afterTests{m}, cmds)
}

// afterTests writes what the tests asked to be written once they all passed.
type afterTests struct{ m *testing.M }

func (a afterTests) Run() int {
	code := a.m.Run()
	if code == 0 {
		if err := writeHostileTable(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

// TestScripts runs testdata/*.txt, each against its own fake grape and with
// its own HOME and configuration folder.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits": cmdExits, "getfile": cmdGetFile, "repeat": cmdRepeat, "forget": cmdForget, "getexits": cmdGetExits, "envfile": cmdEnvFile,
			"peers": cmdPeers, "grapeanswer": cmdGrapeAnswer, "announces": cmdAnnounces,
			"dhtnodes": cmdDHTNodes, "dhtgarbage": cmdDHTGarbage,
		},
		Setup: func(env *testscript.Env) error {
			srv := grapetest.NewServer()
			env.Defer(srv.Close)
			env.Values[fakeGrapeKey{}] = srv
			port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
			env.Setenv("GRENACHE_GRAPE", "127.0.0.1")
			env.Setenv("GRENACHE_PORT", port)
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
			return nil
		},
	})
}

// TestRegistry refuses duplicate applets and checks that the Makefile's
// APPLETS, the list its install rule makes a link for, names every applet
// and nothing else.
func TestRegistry(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var installed []string
	for _, line := range strings.Split(string(mk), "\n") {
		if rest, ok := strings.CutPrefix(line, "APPLETS"); ok {
			if _, list, ok := strings.Cut(rest, ":="); ok {
				installed = strings.Fields(list)
			}
		}
	}
	if !strings.Contains(string(mk), "for a in $(APPLETS); do ln -sfn grenache") {
		t.Errorf("the Makefile's install rule does not make a link for each of $(APPLETS)")
	}
	var names []string
	seen := map[string]bool{}
	for _, a := range registry {
		if seen[a.name] {
			t.Errorf("applet %q registered twice", a.name)
		}
		seen[a.name] = true
		names = append(names, a.name)
	}
	if diff := cmp.Diff(names, installed); diff != "" {
		t.Errorf("the Makefile's APPLETS mismatch the registry (-registry +Makefile):\n%s", diff)
	}
}

// cmdExits runs a program like exec and checks its exact exit code:
// exits CODE PROGRAM [ARG]...
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARG]...")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdGetFile runs grenache-get with the hash read from a file (the output of
// an earlier put): getfile FILE [OPTION]...
func cmdGetFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: getfile FILE [OPTION]...")
	}
	hash := strings.TrimSpace(ts.ReadFile(args[0]))
	err := ts.Exec("grenache-get", append(args[1:], hash)...)
	if (err != nil) != neg {
		ts.Fatalf("grenache-get: %v (negated: %v)", err, neg)
	}
}

// cmdRepeat writes FILE, without a final newline, as each TEXT repeated COUNT times in
// turn; TEXT takes Go's string escapes (\n, \t, \x7f, \u00e9):
// repeat FILE COUNT TEXT [COUNT TEXT]...
func cmdRepeat(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 || len(args)%2 != 1 {
		ts.Fatalf("usage: repeat FILE COUNT TEXT [COUNT TEXT]...")
	}
	var b strings.Builder
	for i := 1; i < len(args); i += 2 {
		n, err := strconv.Atoi(args[i])
		if err != nil || n < 0 {
			ts.Fatalf("repeat: bad count %q", args[i])
		}
		text, err := strconv.Unquote(`"` + strings.ReplaceAll(args[i+1], `"`, `\"`) + `"`)
		if err != nil {
			ts.Fatalf("repeat: bad text %q: %v", args[i+1], err)
		}
		b.WriteString(strings.Repeat(text, n))
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o644))
}
