package bep44

import "errors"

// Error is a BEP 44 failure. Code is the error code the BEP gives it (205, 206, 207,
// 301, 302) or 0 for failures the BEP does not number. The sentinels below are *Error
// values; wrap them with fmt.Errorf("%w: details", ...) and test with errors.Is.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// The errors the BEP numbers.
var (
	ErrValueTooLarge    = &Error{Code: 205, Msg: "value too large"}
	ErrInvalidSignature = &Error{Code: 206, Msg: "invalid signature"}
	ErrSaltTooLarge     = &Error{Code: 207, Msg: "salt too large"}
	ErrCASMismatch      = &Error{Code: 301, Msg: "cas mismatch"}
	ErrSeqTooLow        = &Error{Code: 302, Msg: "sequence number less than current"}
)

// Failures the BEP does not number.
var (
	ErrTargetMismatch = &Error{Msg: "target mismatch"}
	ErrSeqRange       = &Error{Msg: "sequence number out of range"}
	ErrKeySize        = &Error{Msg: "wrong key size"}
	ErrTargetSyntax   = &Error{Msg: "malformed target"}
)

// Code returns the BEP 44 code carried by err (possibly wrapped), or 0.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
