package bep44

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// withTables makes the next signatures and verifications of the test use the
// precomputed base-point tables (on) or not (off), as the first ones of a process do.
func withTables(t testing.TB, on bool) {
	t.Helper()
	b, v := baseMults.Load(), verifications.Load()
	t.Cleanup(func() { baseMults.Store(b); verifications.Store(v) })
	if on {
		baseMults.Store(math.MaxInt32)
		verifications.Store(math.MaxInt32)
	} else {
		baseMults.Store(0)
		verifications.Store(0)
	}
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// The seed signer does its own arithmetic; its keys and signatures must be byte for byte
// crypto/ed25519's, with and without the base-point table, and across the switch from one
// to the other (the fresh run makes more than baseMultTableAfter multiplications).
func TestSeedSignerMatchesStdlib(t *testing.T) {
	for _, tables := range []bool{false, true} {
		t.Run(fmt.Sprintf("tables %t", tables), func(t *testing.T) {
			withTables(t, tables)
			for i := 0; i < 2*baseMultTableAfter; i++ {
				seed := randomBytes(t, ed25519.SeedSize)
				msg := randomBytes(t, i*31%1100)
				priv := ed25519.NewKeyFromSeed(seed)
				s, err := NewSigner(seed)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]byte(priv[32:]), s.PublicKey()); diff != "" {
					t.Errorf("seed %x: public key mismatch (-want +got)\n%s", seed, diff)
				}
				if diff := cmp.Diff(ed25519.Sign(priv, msg), s.Sign(msg)); diff != "" {
					t.Errorf("seed %x, %d-byte message: signature mismatch (-want +got)\n%s", seed, len(msg), diff)
				}
			}
			if !tables && baseMults.Load() <= baseMultTableAfter {
				t.Errorf("%d multiplications: the run never reached the table", baseMults.Load())
			}
		})
	}
}

// verifyCases are keys, messages and signatures that crypto/ed25519 accepts or refuses
// for every reason it has but a short key (it panics on those): a short signature, high bits in S, S not below l, keys that do not
// decode, non-canonical and small-order keys, and bits flipped anywhere.
func verifyCases(t testing.TB) [][3][]byte {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	pub := []byte(priv[32:])
	msg := []byte("3:seqi1e1:v5:hello")
	sig := ed25519.Sign(priv, msg)
	with := func(b []byte, i int, x byte) []byte {
		c := bytes.Clone(b)
		c[i] = x
		return c
	}
	unhexed := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// l, the group order, little-endian: S = l must be refused.
	l := unhexed("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	cases := [][3][]byte{
		{pub, msg, sig},
		{pub, msg, sig[:63]},
		{pub, msg, with(sig, 63, sig[63]|0x80)},
		{pub, msg, with(sig, 63, sig[63]|0x20)},
		{pub, msg, append(bytes.Clone(sig[:32]), l...)},
		// Small-order and non-canonical encodings of keys.
		{unhexed("0100000000000000000000000000000000000000000000000000000000000000"), msg, sig},
		{unhexed("0000000000000000000000000000000000000000000000000000000000000000"), msg, sig},
		{unhexed("0000000000000000000000000000000000000000000000000000000000000080"), msg, sig},
		{unhexed("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), msg, sig},
		{unhexed("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), msg, sig},
		{unhexed("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), msg, sig},
		{unhexed("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"), msg, sig},
		{unhexed("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), msg, sig},
		// A signature by the identity key: R = identity and S = 0 verify for any message
		// without the cofactor; both verifiers must agree on it.
		{unhexed("0100000000000000000000000000000000000000000000000000000000000000"), msg,
			unhexed("0100000000000000000000000000000000000000000000000000000000000000" +
				"0000000000000000000000000000000000000000000000000000000000000000")},
	}
	for i := 0; i < 8*len(sig); i++ {
		cases = append(cases, [3][]byte{pub, msg, with(sig, i/8, sig[i/8]^1<<(i%8))})
	}
	for i := 0; i < 8*len(pub); i++ {
		cases = append(cases, [3][]byte{with(pub, i/8, pub[i/8]^1<<(i%8)), msg, sig})
	}
	for i := 0; i < 8*len(msg); i++ {
		cases = append(cases, [3][]byte{pub, with(msg, i/8, msg[i/8]^1<<(i%8)), sig})
	}
	for i := 0; i < 64; i++ {
		seed := randomBytes(t, 32)
		p := ed25519.NewKeyFromSeed(seed)
		m := randomBytes(t, i*17)
		cases = append(cases, [3][]byte{p[32:], m, ed25519.Sign(p, m)}, [3][]byte{randomBytes(t, 32), m, randomBytes(t, 64)})
	}
	return cases
}

func TestVerifyNoTableMatchesStdlib(t *testing.T) {
	accepted := 0
	for _, c := range verifyCases(t) {
		want := ed25519.Verify(c[0], c[1], c[2])
		if got := verifyNoTable(c[0], c[1], c[2]); got != want {
			t.Errorf("pub %x, msg %x, sig %x: verifyNoTable = %t, crypto/ed25519 %t", c[0], c[1], c[2], got, want)
		}
		if want {
			accepted++
		}
	}
	if accepted < 65 { // the valid signature and the 64 random ones
		t.Errorf("only %d cases verify: the cases do not test acceptance", accepted)
	}
}

// Verify must give one answer whether or not it uses crypto/ed25519's table.
func TestVerifyTablesAgree(t *testing.T) {
	s, err := NewSigner(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	it, err := NewMutable(s, []byte("salt"), 7, []byte("value"))
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(it.Sig)
	bad[5] ^= 1
	for _, tables := range []bool{false, true} {
		withTables(t, tables)
		if !Verify(it.K, it.Salt, it.Seq, it.V, it.Sig) {
			t.Errorf("tables %t: Verify rejects a good signature", tables)
		}
		if Verify(it.K, it.Salt, it.Seq, it.V, bad) {
			t.Errorf("tables %t: Verify accepts a bad signature", tables)
		}
	}
}

func FuzzVerifyNoTable(f *testing.F) {
	for _, c := range verifyCases(f)[:20] {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return // crypto/ed25519.Verify panics on those; Verify refuses them first
		}
		want := ed25519.Verify(pub, msg, sig)
		if got := verifyNoTable(pub, msg, sig); got != want {
			t.Errorf("pub %x, msg %x, sig %x: verifyNoTable = %t, crypto/ed25519 %t", pub, msg, sig, got, want)
		}
	})
}

// One-shot costs, as a process signing or verifying once pays them, against the tables'.
func BenchmarkBaseMult(b *testing.B) {
	s, err := NewSigner(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	msg := SignedBuffer(benchSalt, 1, benchV)
	it, err := NewMutable(s, benchSalt, 1, benchV)
	if err != nil {
		b.Fatal(err)
	}
	for _, tables := range []bool{false, true} {
		// Counters are reset in the loop so that every iteration stays on one side of the switch.
		count := int64(0)
		if tables {
			count = math.MaxInt32
		}
		b.Run(fmt.Sprintf("sign/tables=%t", tables), func(b *testing.B) {
			withTables(b, tables)
			b.ReportAllocs()
			for b.Loop() {
				baseMults.Store(count)
				s.Sign(msg)
			}
		})
		b.Run(fmt.Sprintf("verify/tables=%t", tables), func(b *testing.B) {
			withTables(b, tables)
			b.ReportAllocs()
			for b.Loop() {
				verifications.Store(count)
				sinkB = Verify(it.K, it.Salt, it.Seq, it.V, it.Sig)
			}
		})
	}
}
