package bep44

import (
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"sync/atomic"

	"filippo.io/edwards25519"
)

// Signer signs signed buffers with an ed25519 key.
type Signer interface {
	PublicKey() []byte
	Sign(msg []byte) []byte
}

// NewSigner signs with private, whose length says what it is: a 32-byte seed (Go,
// libsodium and grenache's own key files), expanded as RFC 8032 says (SHA-512, the first
// half clamped is the scalar, the second half the prefix), or a 64-byte expanded secret
// (clamped scalar ‖ prefix: orlp/ed25519, libtorrent, supercop and the original
// grenache-cli). A seed makes the same signatures as crypto/ed25519. The public key is
// derived once, here. Doing the arithmetic here rather than in crypto/ed25519 lets a
// one-shot signature skip the base-point table (see baseMult), and is the only way to
// sign from an expanded secret, whose seed is unknown.
func NewSigner(private []byte) (Signer, error) {
	switch len(private) {
	case ed25519.SeedSize:
		h := sha512.Sum512(private)
		a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
		if err != nil {
			return nil, err // unreachable: any 32 bytes are accepted
		}
		return newExpandedSigner(a, h[32:]), nil
	case 64:
		a, err := expandedScalar(private)
		if err != nil {
			return nil, err
		}
		return newExpandedSigner(a, private[32:]), nil
	}
	return nil, fmt.Errorf("%w: private key is %d bytes, want a 32-byte seed or a 64-byte expanded secret", ErrKeySize, len(private))
}

// expandedSigner signs from an expanded secret, given or expanded from a seed.
type expandedSigner struct {
	a      *edwards25519.Scalar
	prefix [32]byte
	pub    [PublicKeySize]byte
}

func newExpandedSigner(a *edwards25519.Scalar, prefix []byte) *expandedSigner {
	s := &expandedSigner{a: a}
	copy(s.prefix[:], prefix)
	var A edwards25519.Point
	copy(s.pub[:], baseMult(&A, a).Bytes())
	return s
}

// ExpandedPublicKey derives the public key scalar·B of a 64-byte expanded secret.
func ExpandedPublicKey(secret []byte) ([]byte, error) {
	a, err := expandedScalar(secret)
	if err != nil {
		return nil, err
	}
	var A edwards25519.Point
	return baseMult(&A, a).Bytes(), nil
}

// expandedScalar reads the scalar as stored, reduced mod l. It is not clamped again:
// orlp/ed25519 uses the stored bytes as they are, and reducing mod l does not change
// the point or the signature since B has order l.
func expandedScalar(secret []byte) (*edwards25519.Scalar, error) {
	if len(secret) != 64 {
		return nil, fmt.Errorf("%w: expanded secret is %d bytes, want 64", ErrKeySize, len(secret))
	}
	var wide [64]byte
	copy(wide[:32], secret[:32])
	a, err := edwards25519.NewScalar().SetUniformBytes(wide[:])
	if err != nil {
		return nil, err // unreachable: wide is 64 bytes
	}
	return a, nil
}

func (s *expandedSigner) PublicKey() []byte { return append([]byte(nil), s.pub[:]...) }

// Sign follows RFC 8032 from the expanded secret on: r = H(prefix‖msg), R = rB,
// k = H(R‖A‖msg), S = r + k·a, all mod l.
func (s *expandedSigner) Sign(msg []byte) []byte {
	var digest [64]byte
	h := sha512.New()
	h.Write(s.prefix[:])
	h.Write(msg)
	r, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	var rB edwards25519.Point
	R := baseMult(&rB, r).Bytes()

	h.Reset()
	h.Write(R)
	h.Write(s.pub[:])
	h.Write(msg)
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	S := edwards25519.NewScalar().MultiplyAdd(k, s.a, r)

	sig := make([]byte, 0, SignatureSize)
	sig = append(sig, R...)
	return append(sig, S.Bytes()...)
}

// Verify reports whether sig is pub's signature over the signed buffer of salt, seq and
// v, as crypto/ed25519.Verify decides. Wrong key or signature lengths give false rather
// than a panic.
func Verify(pub, salt []byte, seq int64, v, sig []byte) bool {
	if len(pub) != PublicKeySize || len(sig) != SignatureSize {
		return false
	}
	var buf [1152]byte // fits any buffer within the limits
	return ed25519.Verify(pub, AppendSignedBuffer(buf[:0], salt, seq, v), sig)
}

// A precomputed table of multiples of the base point B makes s·B faster, but building it
// costs as much as many multiplications: a process that signs once (grenache put -m)
// would pay for it and use it once. So the first multiplications of a process go without
// it, and once the process has done about as many as the table pays for (a batch), it is
// built and used. docs/performance.md has the measurements. The counter is per process,
// as the table is.
const baseMultTableAfter = 32

var baseMults atomic.Int64

// baseMult sets v = s·B in constant time and returns v, with the base-point table only
// once this process has done baseMultTableAfter multiplications (public keys and
// signatures alike).
func baseMult(v *edwards25519.Point, s *edwards25519.Scalar) *edwards25519.Point {
	if baseMults.Add(1) > baseMultTableAfter {
		return v.ScalarBaseMult(s)
	}
	return v.ScalarMult(s, edwards25519.NewGeneratorPoint())
}
