package applets

import (
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

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
