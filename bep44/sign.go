package bep44

import (
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
)

// Signer signs signed buffers with an ed25519 key.
type Signer interface {
	PublicKey() []byte
	Sign(msg []byte) []byte
}

type seedSigner struct {
	priv ed25519.PrivateKey
	pub  []byte
}

// NewSeedSigner signs with the key crypto/ed25519 derives from a 32-byte seed.
func NewSeedSigner(seed []byte) (Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: seed is %d bytes, want %d", ErrKeySize, len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &seedSigner{priv: priv, pub: priv[32:]}, nil
}

func (s *seedSigner) PublicKey() []byte      { return append([]byte(nil), s.pub...) }
func (s *seedSigner) Sign(msg []byte) []byte { return ed25519.Sign(s.priv, msg) }

// expandedSigner signs from an expanded secret, for which crypto/ed25519 has no entry
// point: the seed that would hash to it is unknown, so the arithmetic is done here.
type expandedSigner struct {
	a      *edwards25519.Scalar
	prefix [32]byte
	pub    [PublicKeySize]byte
}

// NewExpandedSigner signs with a 64-byte expanded secret: clamped scalar ‖ 32-byte prefix,
// the layout of orlp/ed25519, libtorrent, supercop and the original grenache-cli.
func NewExpandedSigner(secret []byte) (Signer, error) {
	a, err := expandedScalar(secret)
	if err != nil {
		return nil, err
	}
	s := &expandedSigner{a: a}
	copy(s.prefix[:], secret[32:])
	copy(s.pub[:], new(edwards25519.Point).ScalarBaseMult(a).Bytes())
	return s, nil
}

// ExpandedPublicKey derives the public key scalar·B of a 64-byte expanded secret.
func ExpandedPublicKey(secret []byte) ([]byte, error) {
	a, err := expandedScalar(secret)
	if err != nil {
		return nil, err
	}
	return new(edwards25519.Point).ScalarBaseMult(a).Bytes(), nil
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
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()

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
// v. Wrong key or signature lengths give false rather than a panic.
func Verify(pub, salt []byte, seq int64, v, sig []byte) bool {
	if len(pub) != PublicKeySize || len(sig) != SignatureSize {
		return false
	}
	var buf [1152]byte // fits any buffer within the limits, so verifying does not allocate
	return ed25519.Verify(pub, AppendSignedBuffer(buf[:0], salt, seq, v), sig)
}
