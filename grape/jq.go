package grape

// appendJQString appends s as a JSON string the way `jq -cM` prints one, so that get -r
// prints what the original tool printed (it piped the grape's answer through jq -cM):
// `"` and `\` escaped; \b, \f, \n, \r and \t by name; the other control characters and
// DEL (0x7f) as \u00xx with lowercase hex; everything else as it is, `/`, U+2028 and all
// other non-ASCII text included. s is valid UTF-8: it comes out of encoding/json.
func appendJQString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
