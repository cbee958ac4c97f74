//go:build unix

package applets

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"grenache/grape/grapetest"
)

// put --file reads a FIFO: a value written by another process as put reads it.
func TestPutFileFIFO(t *testing.T) {
	srv := grapetest.NewServer()
	t.Cleanup(srv.Close)
	useKeyDirs(t)
	fifo := filepath.Join(t.TempDir(), "value")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteString("from a fifo\n")
		f.Close()
	}()
	code, out, errs := runMainT(t, "", "put", "-p", portOf(t, srv.URL), "--file", fifo)
	if code != 0 {
		t.Fatalf("put --file FIFO: exit %d: %s", code, errs)
	}
	code, got, errs := runMainT(t, "", "get", "-p", portOf(t, srv.URL), strings.TrimSpace(out))
	if code != 0 || got != "from a fifo\n\n" {
		t.Fatalf("get: exit %d, %q, %s", code, got, errs)
	}
}

// put --cas auto fails with exit 5, storing nothing, when another writer
// stores a new version between its read and its write; here the grape's
// proxy makes that write right after answering put's read.
func TestCasAutoConflict(t *testing.T) {
	srv, port := keyedGrape(t)
	if code, _, errs := runMainT(t, "", "put", "-p", port, "-m", "-s", "c", "-n", "1", "one"); code != 0 {
		t.Fatal(errs)
	}
	target, _ := url.Parse(srv.URL)
	var gets atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := http.Post(target.String()+r.URL.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if r.URL.Path == "/get" && gets.Add(1) == 1 {
			// The other writer, after put has read seq 1.
			if code, _, errs := runMainT(t, "", "put", "-p", port, "-m", "-s", "c", "-n", "2", "two"); code != 0 {
				t.Error(errs)
			}
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(proxy.Close)
	code, out, errs := runMainT(t, "", "put", "-p", portOf(t, proxy.URL), "-m", "-s", "c", "--cas", "auto", "three")
	if code != ExitConflict || out != "" {
		t.Fatalf("put --cas auto with a write between: exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if !strings.Contains(errs, "hint: another writer stored a new version between put's read and its write: run it again") {
		t.Errorf("no hint to run it again:\n%s", errs)
	}
	code, got, errs := runMainT(t, "", "get", "-p", port, "--key", mustShow(t), "-s", "c")
	if code != 0 || got != "two\n" {
		t.Fatalf("the other writer's version was replaced: exit %d, %q, %s", code, got, errs)
	}
	// Run again, it reads seq 2 and stores.
	code, _, errs = runMainT(t, "", "put", "-p", port, "-m", "-s", "c", "--cas", "auto", "three")
	if code != 0 {
		t.Fatalf("put --cas auto again: exit %d: %s", code, errs)
	}
}

func mustShow(t *testing.T) string {
	t.Helper()
	code, out, errs := runMainT(t, "", "keygen", "--show")
	if code != 0 {
		t.Fatal(errs)
	}
	return strings.TrimSpace(out)
}
