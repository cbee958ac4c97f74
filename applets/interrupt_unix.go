//go:build unix

package applets

import (
	"os"
	"os/signal"
	"syscall"
)

// onInterrupt watches for SIGINT and SIGTERM until stop is called. On one, it
// runs cleanup and then ends the process by that same signal, as if it had not
// been caught: a shell sees 130 or 143. A signal that arrives as stop is
// called is still acted on.
func onInterrupt(cleanup func()) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	stopped := make(chan struct{})
	die := func(sig os.Signal) {
		cleanup()
		signal.Reset(sig)
		syscall.Kill(syscall.Getpid(), sig.(syscall.Signal))
		select {} // until the signal ends the process
	}
	go func() {
		defer close(stopped)
		select {
		case sig := <-sigs:
			die(sig)
		case <-done:
			signal.Stop(sigs)
			select {
			case sig := <-sigs:
				die(sig)
			default:
			}
		}
	}()
	return func() { close(done); <-stopped }
}
