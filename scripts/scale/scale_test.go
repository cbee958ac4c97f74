//go:build integration

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logWriter sends the progress lines to the test's log, and calls on for
// each of them.
type logWriter struct {
	t  *testing.T
	on func(line string)
}

func (w logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	w.t.Log(line)
	if w.on != nil {
		w.on(line)
	}
	return len(p), nil
}

// binPath is the grenache binary TestMain builds for the tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "grenache-scale-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath, err = build(context.Background(), dir)
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// small is the run's configuration at its smallest: 5 grapes, 10 items, HTTP
// only; 8 commands at a time, as a put through a grape with stopped peers
// takes some 2.5 s.
func small(t *testing.T) config {
	ts, err := parseTransports("http")
	if err != nil {
		t.Fatal(err)
	}
	return config{bin: binPath, grapes: 5, items: 10, jobs: 8, transports: ts, timeout: 10 * time.Second, seed: 1, progress: logWriter{t: t}}
}

// stoppedAll: every grape the run started has exited.
func stoppedAll(t *testing.T, res *result) {
	t.Helper()
	if len(res.pids) != res.grapes {
		t.Fatalf("%d pids for %d grapes", len(res.pids), res.grapes)
	}
	for i, pid := range res.pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("grape %d (pid %d) after the run: kill -0 gave %v, want no such process", i, pid, err)
		}
	}
}

// TestMeasure runs the whole measurement small, over HTTP: every put and get
// succeeds while all grapes run, every row is there and ran in full, a third
// of the grapes were stopped, and at the end none is left running.
func TestMeasure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	res, err := measure(ctx, small(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.cut != nil {
		t.Fatalf("cut: %v", res.cut)
	}
	stoppedAll(t, res)
	if len(res.stopped) != 2 {
		t.Errorf("stopped grapes %v, want 2 of 5", res.stopped)
	}
	ops := []string{
		"put through a random grape",
		"get through another grape",
		"get through a surviving grape",
		"get through a list of 3, ≥ 1 stopped",
		"put through a surviving grape",
		"put through a list of 3, ≥ 1 stopped",
	}
	if len(res.rows) != len(ops) {
		t.Fatalf("%d rows, want %d:\n%s", len(res.rows), len(ops), res.table())
	}
	lines := strings.Split(strings.TrimSpace(res.table()), "\n")[2:]
	for i, r := range res.rows {
		if r.transport != "http" || r.op != ops[i] || r.planned != 10 || r.attempted != 10 {
			t.Errorf("row %d: %s %q: %d planned, %d run; want http %q, 10 and 10", i, r.transport, r.op, r.planned, r.attempted, ops[i])
		}
		if !strings.HasPrefix(lines[i], fmt.Sprintf("| http | %s | %s | %d / 10 | ", r.phase, ops[i], r.ok)) {
			t.Errorf("table line %d: %s", i, lines[i])
		}
	}
	for _, r := range res.rows[:2] {
		if r.ok != 10 || len(r.lat) != 10 || len(r.fails) != 0 {
			t.Errorf("%s with every grape running: %d of 10 ok, failures %v; want all", r.op, r.ok, r.fails)
		}
		if !strings.Contains(res.table(), "| http | all 5 grapes running | "+r.op+" | 10 / 10 | 100.0 % | ") {
			t.Errorf("table lacks the 100 %% line of %s:\n%s", r.op, res.table())
		}
	}
}

// TestMeasureCut: a run cut in its middle (here by a cancel, as SIGINT or
// the deadline do) returns what ran, says so, runs nothing more, and still
// stops every grape it started.
func TestMeasureCut(t *testing.T) {
	cfg := small(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	cfg.progress = logWriter{t: t, on: func(line string) {
		if strings.Contains(line, "get through another grape") {
			cancel(errors.New("test cut"))
		}
	}}
	res, err := measure(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.cut == nil || res.cut.Error() != "test cut" {
		t.Fatalf("cut = %v, want the test's cause", res.cut)
	}
	stoppedAll(t, res)
	if len(res.stopped) != 0 {
		t.Errorf("grapes %v stopped as a phase after the cut", res.stopped)
	}
	if res.rows[0].ok != 10 {
		t.Errorf("puts before the cut: %d of 10 ok", res.rows[0].ok)
	}
	for _, r := range res.rows[1:] {
		if r.attempted != 0 {
			t.Errorf("%s: %d run after the cut", r.op, r.attempted)
		}
	}
	if !strings.Contains(res.table(), "| get through another grape | 0 / 0 | – | – | – | 10 not run (the run was cut) |") {
		t.Errorf("table does not say the gets were cut:\n%s", res.table())
	}
}
