package grape

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestFallbackRoots: where the system has no CA certificates, a TLS grape's transport
// makes the embedded Mozilla roots the system's pool, so that --tls verifies a grape's
// certificate in a FROM scratch container; a plain HTTP grape's does not load them (they
// cost a millisecond). The pool is loaded once per process: each check runs in a child.
func TestFallbackRoots(t *testing.T) {
	switch os.Getenv("GRENACHE_TEST_ROOTS") {
	case "tls", "plain":
		tls := os.Getenv("GRENACHE_TEST_ROOTS") == "tls"
		NewHTTP("127.0.0.1", 1, tls, time.Second, "", 0)
		pool, err := x509.SystemCertPool()
		if err != nil {
			t.Fatalf("SystemCertPool: %v", err)
		}
		// Subjects leaves out roots only where the OS verifies (macOS, Windows).
		//lint:ignore SA1019 on Linux the pool holds the roots themselves, and Subjects lists them
		subjects := pool.Subjects()
		found := false
		for _, s := range subjects {
			found = found || bytes.Contains(s, []byte("ISRG Root X1"))
		}
		if tls && (len(subjects) < 100 || !found) {
			t.Fatalf("SystemCertPool with no system roots, after a TLS transport: %d subjects, ISRG Root X1 among them: %t; want the Mozilla roots", len(subjects), found)
		}
		if !tls && len(subjects) != 0 {
			t.Fatalf("SystemCertPool with no system roots, after a plain HTTP transport: %d subjects, want none (nothing loaded)", len(subjects))
		}
		return
	}
	empty := t.TempDir()
	for _, mode := range []string{"tls", "plain"} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestFallbackRoots$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GRENACHE_TEST_ROOTS="+mode,
			"SSL_CERT_FILE="+filepath.Join(empty, "none.pem"), "SSL_CERT_DIR="+empty)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the %s check with no system roots: %v\n%s", mode, err, out)
		}
	}
}
