package grapenet

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// proc ends a process by SIGTERM or by closing its standard input, and kills one
// that does neither within stopTimeout, which is an error naming it.
func TestProcStop(t *testing.T) {
	defer func(d time.Duration) { stopTimeout = d }(stopTimeout)
	stopTimeout = 300 * time.Millisecond

	term, err := startProc("sleeper", exec.Command("sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	if err := term.stop(true); err != nil || !term.exited() {
		t.Errorf("SIGTERM: %v, exited %v", err, term.exited())
	}
	if err := term.stop(true); err != nil {
		t.Errorf("stopped twice: %v", err)
	}

	reader, err := startProc("reader", exec.Command("cat"))
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.stop(false); err != nil || !reader.exited() {
		t.Errorf("standard input closed: %v, exited %v", err, reader.exited())
	}

	stubborn, err := startProc("stubborn", exec.Command("sh", "-c", `trap "" TERM; while :; do sleep 0.05; done`)) // no child outlives it by more than 50 ms
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the trap is set
	err = stubborn.stop(true)
	if err == nil || !strings.Contains(err.Error(), "stubborn (pid ") || !strings.Contains(err.Error(), "of SIGTERM and was killed") {
		t.Errorf("a process ignoring SIGTERM: %v", err)
	}
	if !stubborn.exited() {
		t.Error("still running")
	}

	if _, err := startProc("missing", exec.Command("/nonexistent/program")); err == nil || !strings.HasPrefix(err.Error(), "missing: ") {
		t.Errorf("a program that cannot start: %v", err)
	}
}
