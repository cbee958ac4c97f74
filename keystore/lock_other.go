//go:build !unix

package keystore

// lockDir does nothing where flock does not exist: racing replacements there
// may each back up the same pair (see lock_unix.go).
func lockDir(string) (unlock func(), err error) { return func() {}, nil }
