package bep44

import (
	"fmt"
	"strconv"
)

// Limits from BEP 44, plus the bound JSON numbers impose on the way through a grape.
const (
	MaxValueSize  = 1000    // bencoded v, in bytes
	MaxSaltSize   = 64      // bytes
	MaxSeq        = 1 << 53 // inclusive bound for seq and cas: grapes carry them as JS numbers
	PublicKeySize = 32
	SignatureSize = 64
)

// ValueSize is the length of v bencoded as a string, "<len>:<v>".
func ValueSize(v []byte) int {
	digits := 1
	for n := len(v); n >= 10; n /= 10 {
		digits++
	}
	return digits + 1 + len(v)
}

// AppendValue appends v bencoded as a string.
func AppendValue(dst, v []byte) []byte {
	return append(appendLen(dst, v), v...)
}

// appendLen appends the "<len>:" prefix of v's bencoding.
func appendLen(dst, v []byte) []byte {
	return append(strconv.AppendInt(dst, int64(len(v)), 10), ':')
}

// AppendSignedBuffer appends the bytes a mutable item's signature covers: the bencoded
// dict {salt, seq, v} without its outer d/e, keys in sorted order, salt left out when
// empty (the BEP never signs "4:salt0:").
func AppendSignedBuffer(dst, salt []byte, seq int64, v []byte) []byte {
	if len(salt) > 0 {
		dst = append(dst, "4:salt"...)
		dst = AppendValue(dst, salt)
	}
	dst = append(dst, "3:seqi"...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, "e1:v"...)
	return AppendValue(dst, v)
}

// SignedBuffer returns AppendSignedBuffer(nil, salt, seq, v) in a buffer of the right size.
func SignedBuffer(salt []byte, seq int64, v []byte) []byte {
	n := 6 + 20 + 4 + ValueSize(v) // "3:seqi" + int64 + "e1:v" + v
	if len(salt) > 0 {
		n += 6 + ValueSize(salt)
	}
	return AppendSignedBuffer(make([]byte, 0, n), salt, seq, v)
}

// CheckValue reports ErrValueTooLarge when v bencoded exceeds MaxValueSize.
func CheckValue(v []byte) error {
	if n := ValueSize(v); n > MaxValueSize {
		return fmt.Errorf("%w: value is %d bytes bencoded, the limit is %d (%d bytes of string)",
			ErrValueTooLarge, n, MaxValueSize, maxStringValue)
	}
	return nil
}

// maxStringValue is the longest string whose bencoding fits MaxValueSize ("996:" + 996).
const maxStringValue = MaxValueSize - 4

// CheckSalt reports ErrSaltTooLarge for a salt over MaxSaltSize bytes. Empty is fine.
func CheckSalt(salt []byte) error {
	if len(salt) > MaxSaltSize {
		return fmt.Errorf("%w: salt is %d bytes, the limit is %d", ErrSaltTooLarge, len(salt), MaxSaltSize)
	}
	return nil
}

// CheckSeq reports ErrSeqRange for n outside 0..MaxSeq.
func CheckSeq(n int64) error {
	if n < 0 || n > MaxSeq {
		return fmt.Errorf("%w: %d is outside 0..%d", ErrSeqRange, n, int64(MaxSeq))
	}
	return nil
}
