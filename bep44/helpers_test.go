package bep44

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
)

func sha1Sum(b []byte) [20]byte { return sha1.Sum(b) }

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func sha512Sum(b []byte) [64]byte { return sha512.Sum512(b) }
