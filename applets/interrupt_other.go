//go:build !unix

package applets

// onInterrupt does nothing where signals cannot be re-raised: an interrupted
// keygen may leave its temporary file there.
func onInterrupt(func()) (stop func()) { return func() {} }
