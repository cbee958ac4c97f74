package keystore

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// derivePublic does its own arithmetic for seeds; it must agree with crypto/ed25519.
func TestDerivePublicMatchesStdlib(t *testing.T) {
	for i := 0; i < 64; i++ {
		seed := make([]byte, seedSize)
		if _, err := rand.Read(seed); err != nil {
			t.Fatal(err)
		}
		want := []byte(ed25519.NewKeyFromSeed(seed)[32:])
		if diff := cmp.Diff(want, derivePublic(KindSeed, seed)); diff != "" {
			t.Errorf("seed %x: public key mismatch (-want +got)\n%s", seed, diff)
		}
	}
}
