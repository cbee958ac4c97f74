//go:build unix

package keystore

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadLegacyPubNotRegular: key.pub as a named pipe (or a folder) is
// refused at once; reading the pipe would wait for a writer forever. A link to
// a regular key.pub is followed: it holds no secret.
func TestLoadLegacyPubNotRegular(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"named pipe", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "not a regular file: it is a named pipe"},
		{"folder", func(p string) error { return os.Mkdir(p, 0o700) }, "not a regular file: it is a folder"},
		{"link to a named pipe", func(p string) error {
			if err := syscall.Mkfifo(p+".fifo", 0o644); err != nil {
				return err
			}
			return os.Symlink(p+".fifo", p)
		}, "not a regular file: it is a named pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			writeFile(t, filepath.Join(s.LegacyDir, "key"), []byte(bepSecretHex), 0o600)
			pub := filepath.Join(s.LegacyDir, "key.pub")
			if err := tc.make(pub); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 3)
			go func() {
				_, err := s.LoadLegacy()
				done <- err
				_, err = s.Load()
				done <- err
				_, _, err = s.Import(true)
				done <- err
			}()
			for _, what := range []string{"LoadLegacy", "Load", "Import"} {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), pub+": "+tc.want) {
						t.Errorf("%s: %v, want an error saying %q", what, err, pub+": "+tc.want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%s still reading %s after 5s", what, pub)
				}
			}
		})
	}
	s := newStore(t)
	writeLegacy(t, s, bepSecretHex, bepPublicHex)
	pub := filepath.Join(s.LegacyDir, "key.pub")
	if err := os.Rename(pub, pub+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(pub+".real", pub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadLegacy(); err != nil {
		t.Errorf("key.pub as a link to a regular file: %v", err)
	}
}
