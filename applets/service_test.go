package applets

import (
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"grenache/grape/grapetest"
)

// fakeGrape returns the script's fake grape.
func fakeGrape(ts *testscript.TestScript, cmd string) *grapetest.Server {
	srv, ok := ts.Value(fakeGrapeKey{}).(*grapetest.Server)
	if !ok {
		ts.Fatalf("%s: no fake grape in this script", cmd)
	}
	return srv
}

// cmdPeers makes the fake grape answer a lookup of SERVICE with the PEERs as
// given, unchecked; none removes them: peers SERVICE [PEER]...
func cmdPeers(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: peers SERVICE [PEER]...")
	}
	fakeGrape(ts, "peers").SetPeers(args[0], args[1:]...)
}

// cmdGrapeAnswer makes the fake grape answer every request to PATH with
// STATUS and BODY (Go string escapes) from now on; status 0 with an empty
// BODY undoes it: grapeanswer PATH STATUS BODY
func cmdGrapeAnswer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: grapeanswer PATH STATUS BODY")
	}
	status, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("grapeanswer: bad status %q", args[1])
	}
	body, err := strconv.Unquote(`"` + strings.ReplaceAll(args[2], `"`, `\"`) + `"`)
	if err != nil {
		ts.Fatalf("grapeanswer: bad body %q: %v", args[2], err)
	}
	fakeGrape(ts, "grapeanswer").Answer(args[0], status, body)
}

// cmdAnnounces checks how many announce requests reached the fake grape so
// far: announces N
func cmdAnnounces(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: announces N")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("announces: bad count %q", args[0])
	}
	if got := fakeGrape(ts, "announces").Announces(); got != want {
		ts.Fatalf("the fake grape received %d announces, want %d", got, want)
	}
}
