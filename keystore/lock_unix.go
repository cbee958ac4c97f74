//go:build unix

package keystore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on the folder dir itself (flock on its
// descriptor; no lock file is left) and returns what releases it. The lock
// ends with the process too, however it ends. A file system without flock
// (ENOLCK, EOPNOTSUPP) is used without the lock, as it was before locking.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot lock the key folder: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.EOPNOTSUPP):
	default:
		f.Close()
		return nil, fmt.Errorf("cannot lock the key folder %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
