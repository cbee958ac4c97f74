package keystore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// Official BEP 44 vector: an expanded secret and its public key.
const (
	bepSecretHex = "e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d" +
		"b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d"
	bepPublicHex = "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548"
)

// RFC 8032 test 1: a seed and its public key.
const (
	rfcSeedHex   = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	rfcPublicHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

var fixedNow = time.Date(2026, 11, 26, 1, 53, 48, 0, time.UTC)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newStore returns a store whose folders are inside a fresh temporary folder
// (neither exists yet) and whose clock is fixed.
func newStore(t *testing.T) *Store {
	t.Helper()
	root := t.TempDir()
	return &Store{
		Dir:       filepath.Join(root, "config", "grenache"),
		LegacyDir: filepath.Join(root, "home", ".grenache-cli"),
		Now:       func() time.Time { return fixedNow },
	}
}

// writeFile writes a file with exactly the given mode, whatever the umask.
func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func writeLegacy(t *testing.T, s *Store, key, pub string) {
	t.Helper()
	writeFile(t, filepath.Join(s.LegacyDir, "key"), []byte(key), 0o600)
	writeFile(t, filepath.Join(s.LegacyDir, "key.pub"), []byte(pub), 0o600)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// seedReader yields the same bytes forever, so generated keys are known.
type seedReader struct{ b byte }

func (r seedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b
	}
	return len(p), nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy source broken") }

func containsAll(s string, parts ...string) error {
	for _, p := range parts {
		if !bytes.Contains([]byte(s), []byte(p)) {
			return fmt.Errorf("%q does not contain %q", s, p)
		}
	}
	return nil
}
