//go:build !unix

package state

import "errors"

// lock is not implemented here: without it concurrent writers could lose an
// update, so the state is not written at all.
func lock(path string) (unlock func(), err error) {
	return nil, errors.New("locking the state file is not supported on this system")
}
