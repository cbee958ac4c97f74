package grapenet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without Debian's Python, or with a Python that has no libtorrent module,
// LaunchLibtorrent fails (a test using StartLibtorrent then fails, never
// skips) and says which apt-get command installs it.
func TestLaunchLibtorrentMissing(t *testing.T) {
	noModule := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(noModule, []byte("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'libtorrent'\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(t.TempDir(), "absent"), noModule} {
		python = p
		l, err := LaunchLibtorrent([]string{"127.0.0.1:1"})
		python = Python
		if err == nil {
			l.Stop()
			t.Fatalf("%s: LaunchLibtorrent started", p)
		}
		if !strings.Contains(err.Error(), "apt-get install -y python3-libtorrent") || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q names neither the interpreter nor the apt-get command", p, err)
		}
	}
}
