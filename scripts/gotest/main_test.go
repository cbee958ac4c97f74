package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProgress runs go test -json on a module with a slow test, a quiet
// one, failing subtests and a panic, and reads its events: the slow test and
// each package's result are shown, the failures with their output, and
// nothing that passed says more than that.
func TestProgress(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example\n\ngo 1.22\n",
		"a/a_test.go": `package a

import ("testing"; "time")

func TestSlow(t *testing.T)  { time.Sleep(1100 * time.Millisecond) }
func TestQuick(t *testing.T) { t.Log("quiet when passing") }
`,
		"b/b_test.go": `package b

import "testing"

func TestFails(t *testing.T) {
	t.Run("sub", func(t *testing.T) { t.Log("context of the failure"); t.Error("boom") })
	t.Run("ok", func(t *testing.T) { t.Log("hidden subtest log") })
}
func TestPasses(t *testing.T) { t.Log("hidden test log") }
func TestPanics(t *testing.T) { panic("oops") }
`,
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	events, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("go test -json: %v, want exit status 1", err)
	}

	var out bytes.Buffer
	p := newProgress(&out, time.Now)
	if !p.read(bytes.NewReader(events)) {
		t.Errorf("read reported no failure")
	}
	got := out.String()
	for _, want := range []string{
		"    example/a TestSlow 1.",
		"ok  \texample/a\t",
		"context of the failure",
		"boom",
		"--- FAIL: TestFails/sub",
		"panic: oops",
		"FAIL\texample/b\t",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"quiet when passing", "hidden", "TestQuick", "=== RUN"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, got)
		}
	}
}

// TestRunning: the tests still running are shown, longest first; a
// parallel test counts from when it continues, and not while it waits.
func TestRunning(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	var out bytes.Buffer
	p := newProgress(&out, func() time.Time { return clock })
	p.line([]byte(`{"Action":"run","Package":"x/applets","Test":"TestScripts"}`))
	clock = now.Add(10 * time.Second)
	p.line([]byte(`{"Action":"run","Package":"x/applets","Test":"TestIntegration"}`))
	p.line([]byte(`{"Action":"run","Package":"x/applets","Test":"TestIntegration/sub"}`))
	p.line([]byte(`{"Action":"run","Package":"x/applets","Test":"TestFaults"}`))
	p.line([]byte(`{"Action":"pause","Package":"x/applets","Test":"TestFaults"}`))
	p.line([]byte(`{"Action":"run","Package":"x/applets","Test":"TestWaits"}`))
	p.line([]byte(`{"Action":"pause","Package":"x/applets","Test":"TestWaits"}`))
	clock = now.Add(40 * time.Second)
	p.line([]byte(`{"Action":"cont","Package":"x/applets","Test":"TestFaults"}`))
	clock = now.Add(60 * time.Second)
	p.showRunning()
	p.line([]byte(`{"Action":"pass","Package":"x/applets","Test":"TestScripts","Elapsed":61.5}`))
	want := "  60s: running x/applets TestScripts (60s), x/applets TestIntegration (50s), x/applets TestFaults (20s)\n" +
		"    x/applets TestScripts 61.5s\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
