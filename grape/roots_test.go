package grape

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestFallbackRoots: where the system has no CA certificates, the embedded Mozilla roots
// are the system's pool, so that --tls verifies a grape's certificate in a FROM scratch
// container. The pool is loaded once per process: the check runs in a child.
func TestFallbackRoots(t *testing.T) {
	if os.Getenv("GRENACHE_TEST_ROOTS") == "1" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			t.Fatalf("SystemCertPool: %v", err)
		}
		// Subjects leaves out roots only where the OS verifies (macOS, Windows).
		subjects := pool.Subjects()
		found := false
		for _, s := range subjects {
			found = found || bytes.Contains(s, []byte("ISRG Root X1"))
		}
		if len(subjects) < 100 || !found {
			t.Fatalf("SystemCertPool with no system roots: %d subjects, ISRG Root X1 among them: %t; want the Mozilla roots", len(subjects), found)
		}
		return
	}
	empty := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFallbackRoots$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GRENACHE_TEST_ROOTS=1",
		"SSL_CERT_FILE="+filepath.Join(empty, "none.pem"), "SSL_CERT_DIR="+empty)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the check with no system roots: %v\n%s", err, out)
	}
}
