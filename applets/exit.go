package applets

import (
	"errors"
	"fmt"
	"io"

	"grenache/bep44"
	"grenache/grape"
)

// Exit codes. Scripts rely on them: keep them stable and documented in the README.
const (
	ExitOK         = 0 // success
	ExitFailure    = 1 // the grape could not be reached, answered an error, or a local failure
	ExitUsage      = 2 // bad options or invalid input; nothing was sent
	ExitNotFound   = 3 // the grape holds no item under that hash
	ExitUnverified = 4 // an answer failed verification; nothing was printed
	ExitConflict   = 5 // CAS mismatch or sequence number not newer: re-read and retry
)

// cmdError carries an exit code and hint lines along with an error.
type cmdError struct {
	code  int
	err   error
	hints []string
}

func (e *cmdError) Error() string { return e.err.Error() }
func (e *cmdError) Unwrap() error { return e.err }

// usagef reports invalid input: exit code 2.
func usagef(format string, args ...any) error {
	return &cmdError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// withCode gives err an exit code and hints.
func withCode(code int, err error, hints ...string) error {
	return &cmdError{code: code, err: err, hints: hints}
}

// withHints adds hints to err, keeping the exit code it would have had.
func withHints(err error, hints ...string) error {
	return &cmdError{code: exitCode(err), err: err, hints: hints}
}

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var ce *cmdError
	var eo exitOnly
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &eo):
		return int(eo)
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, grape.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, bep44.ErrCASMismatch), errors.Is(err, bep44.ErrSeqTooLow): // a grape's 301, 302, or a DHT node's
		return ExitConflict
	// Input errors are usage errors (cmdError, above) before they get here, so
	// these come from checking what the network answered.
	case errors.Is(err, bep44.ErrTargetMismatch), errors.Is(err, bep44.ErrInvalidSignature),
		errors.Is(err, bep44.ErrValueTooLarge), errors.Is(err, bep44.ErrSaltTooLarge), errors.Is(err, bep44.ErrKeySize):
		return ExitUnverified
	}
	return ExitFailure
}

// report prints err as "<prog>: error: ..." with its hints and returns the exit code.
func report(prog string, stderr io.Writer, err error) int {
	var eo exitOnly
	if err == nil {
		return ExitOK
	} else if errors.As(err, &eo) {
		return int(eo)
	}
	var we *writeError
	if errors.As(err, &we) {
		we.reported = true
	}
	fmt.Fprintf(stderr, "%s: error: %v\n", prog, err)
	for _, h := range hintsOf(err) {
		fmt.Fprintf(stderr, "%s: hint: %s\n", prog, h)
	}
	return exitCode(err)
}

// hintsOf gathers the hints err carries, outermost first.
func hintsOf(err error) []string {
	var hints []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ce, ok := e.(*cmdError); ok {
			hints = append(hints, ce.hints...)
		}
	}
	return hints
}

// exitOnly ends an applet with its code after the applet reported every
// problem itself: report prints nothing more.
type exitOnly int

func (e exitOnly) Error() string { return fmt.Sprintf("exit code %d", int(e)) }
