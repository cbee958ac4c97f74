//go:build unix

package state

import (
	"os"
	"syscall"
)

// lock takes an exclusive lock on the file at path, creating it, and returns
// the function that releases it. The lock is flock(2)'s: it belongs to the
// open file, so goroutines of one process exclude each other as processes do,
// and it is released when the process ends, however it ends.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}
