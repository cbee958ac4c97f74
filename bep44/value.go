package bep44

import "strconv"

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
