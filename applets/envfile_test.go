package applets

import (
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdEnvFile sets VAR to the contents of FILE without surrounding white space
// (the output of an earlier command): envfile VAR FILE
func cmdEnvFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}
