package bep44

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// Target is the 20-byte DHT key an item is stored under.
type Target [20]byte

// String returns the target as 40 lowercase hex digits, the form grapes answer with.
func (t Target) String() string { return hex.EncodeToString(t[:]) }

// ParseTarget reads exactly 40 hex digits in either case. Errors wrap ErrTargetSyntax and
// say what is wrong, since targets are mostly typed or pasted by people.
func ParseTarget(s string) (Target, error) {
	var t Target
	if n := utf8.RuneCountInString(s); n != 2*len(t) {
		return t, fmt.Errorf("%w: %d characters, want %d hex digits", ErrTargetSyntax, n, 2*len(t))
	}
	pos := 0
	for _, r := range s {
		pos++
		if !isHex(r) {
			return t, fmt.Errorf("%w: non-hex character %q at position %d", ErrTargetSyntax, r, pos)
		}
	}
	// All 40 runes are ASCII hex here, so the string is 40 bytes and decodes cleanly.
	hex.Decode(t[:], []byte(s))
	return t, nil
}

func isHex(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

// stackHashMax bounds the input hashed from a stack buffer: it covers every value and
// key+salt within the BEP's limits, so target computation does not allocate for them.
const stackHashMax = 1024

// ImmutableTarget is SHA-1 of v bencoded as a string.
func ImmutableTarget(v []byte) Target {
	if ValueSize(v) <= stackHashMax {
		var buf [stackHashMax]byte
		return sha1.Sum(AppendValue(buf[:0], v))
	}
	h := sha1.New()
	var lenbuf [24]byte
	h.Write(appendLen(lenbuf[:0], v))
	h.Write(v)
	var t Target
	h.Sum(t[:0])
	return t
}

// MutableTarget is SHA-1(pub ‖ salt); an empty salt is the same as no salt.
func MutableTarget(pub, salt []byte) Target {
	var buf [96]byte // 32-byte key + 64-byte salt
	return sha1.Sum(append(append(buf[:0], pub...), salt...))
}
