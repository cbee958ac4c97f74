package keystore

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"filippo.io/edwards25519"
)

// Sizes of the private key forms, in bytes.
const (
	seedSize     = ed25519.SeedSize // 32
	expandedSize = 64
)

const (
	headerLine    = "# grenache ed25519 key pair. Keep it secret: it proves ownership of your mutable items."
	createdPrefix = "# created:"
	publicPrefix  = "# public key:"
)

// Kind tells which form Pair.Private holds.
type Kind int

const (
	// KindSeed is a 32-byte ed25519 seed, the form crypto/ed25519 starts from.
	KindSeed Kind = iota + 1
	// KindExpanded is a 64-byte expanded secret (clamped scalar || prefix),
	// the form the original grenache-cli and libtorrent keep.
	KindExpanded
)

// String returns the keyword that starts the private line of this kind.
func (k Kind) String() string {
	switch k {
	case KindSeed:
		return "seed"
	case KindExpanded:
		return "expanded"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) size() int {
	if k == KindExpanded {
		return expandedSize
	}
	return seedSize
}

// Pair is an ed25519 key pair together with where it came from.
type Pair struct {
	Public  []byte // 32 bytes
	Private []byte // 32-byte seed (KindSeed) or 64-byte expanded secret (KindExpanded)
	Kind    Kind
	Path    string    // the file it came from
	Legacy  bool      // true when read from the original tool's folder
	Created time.Time // zero when unknown
}

// derivePublic returns the public key of a private key of the given kind: the clamped
// scalar of the seed's SHA-512 (RFC 8032, as crypto/ed25519.NewKeyFromSeed does) or of the
// expanded secret's first half, times the base point. The caller has checked the length.
//
// The multiplication is the generic constant-time one on the generator rather than
// ScalarBaseMult or crypto/ed25519, whose precomputed base-point table costs 1 ms to build
// the first time a process uses it: a process loads one key, so the table would serve once.
func derivePublic(kind Kind, private []byte) []byte {
	scalar := private[:32]
	if kind == KindSeed {
		h := sha512.Sum512(private)
		scalar = h[:32]
	}
	// SetBytesWithClamping accepts any 32 bytes, so it cannot fail here.
	s, err := edwards25519.NewScalar().SetBytesWithClamping(scalar)
	if err != nil {
		panic("keystore: " + err.Error())
	}
	return new(edwards25519.Point).ScalarMult(s, edwards25519.NewGeneratorPoint()).Bytes()
}

// Parse reads a key file in the format described in the package comment.
// path is used in error messages and stored in Pair.Path.
func Parse(path string, data []byte) (*Pair, error) {
	var (
		p          = &Pair{Path: path}
		public     []byte
		publicLine int
		privLine   int
		createLine int
	)
	lines := strings.Split(string(data), "\n")
	lineErr := func(n int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n, fmt.Sprintf(format, args...))
	}
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(raw)
		switch {
		case line == "":
		case strings.HasPrefix(line, publicPrefix):
			if publicLine != 0 {
				return nil, lineErr(n, "second %q comment (first at line %d)", publicPrefix, publicLine)
			}
			v := strings.TrimSpace(strings.TrimPrefix(line, publicPrefix))
			b, err := decodeHex(v, ed25519.PublicKeySize)
			if err != nil {
				return nil, lineErr(n, "public key: %v", err)
			}
			public, publicLine = b, n
		case strings.HasPrefix(line, createdPrefix):
			if createLine != 0 {
				return nil, lineErr(n, "second %q comment (first at line %d)", createdPrefix, createLine)
			}
			v := strings.TrimSpace(strings.TrimPrefix(line, createdPrefix))
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, lineErr(n, "creation time %q is not an RFC 3339 time", v)
			}
			p.Created, createLine = t.UTC(), n
		case strings.HasPrefix(line, "#"):
		default:
			fields := strings.Fields(line)
			var kind Kind
			switch fields[0] {
			case "seed":
				kind = KindSeed
			case "expanded":
				kind = KindExpanded
			default:
				return nil, lineErr(n, "unexpected line: want \"seed <hex>\", \"expanded <hex>\" or a # comment")
			}
			if privLine != 0 {
				return nil, lineErr(n, "second private key line (first at line %d)", privLine)
			}
			if len(fields) != 2 {
				return nil, lineErr(n, "want %q followed by one hex string", fields[0])
			}
			b, err := decodeHex(fields[1], kind.size())
			if err != nil {
				return nil, lineErr(n, "%s: %v", kind, err)
			}
			p.Kind, p.Private, privLine = kind, b, n
		}
	}
	if privLine == 0 {
		return nil, lineErr(len(lines), "no private key line (\"seed <hex>\" or \"expanded <hex>\"); is the file truncated?")
	}
	derived := derivePublic(p.Kind, p.Private)
	if publicLine == 0 {
		return nil, lineErr(privLine, "private key has no %q comment to check it against", publicPrefix)
	}
	if !equalBytes(public, derived) {
		return nil, lineErr(publicLine, "public key %x does not match the private key on line %d (which gives %x)", public, privLine, derived)
	}
	p.Public = derived
	return p, nil
}

// decodeHex decodes s, which must encode exactly size bytes.
func decodeHex(s string, size int) ([]byte, error) {
	if len(s) != 2*size {
		return nil, fmt.Errorf("want %d hex characters, found %d", 2*size, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hex: %v", err)
	}
	return b, nil
}

func equalBytes(a, b []byte) bool {
	// Public keys are not secret, so a plain comparison is fine.
	return string(a) == string(b)
}

// Encode returns the key file for p in the format described in the package
// comment. The "# created:" line is written only when p.Created is set. It
// panics if p.Kind is not KindSeed or KindExpanded: that is a programming
// error, not bad input.
func Encode(p *Pair) []byte {
	if p.Kind != KindSeed && p.Kind != KindExpanded {
		panic("keystore: Encode: unknown key kind " + p.Kind.String())
	}
	var b strings.Builder
	b.WriteString(headerLine + "\n")
	if !p.Created.IsZero() {
		fmt.Fprintf(&b, "%s %s\n", createdPrefix, p.Created.UTC().Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, "%s %x\n", publicPrefix, p.Public)
	fmt.Fprintf(&b, "%s %x\n", p.Kind, p.Private)
	return []byte(b.String())
}
