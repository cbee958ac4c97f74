package bep44

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// withTables makes the next signatures of the test use the precomputed base-point table
// (on) or not (off), as the first ones of a process do.
func withTables(t testing.TB, on bool) {
	t.Helper()
	b := baseMults.Load()
	t.Cleanup(func() { baseMults.Store(b) })
	if on {
		baseMults.Store(math.MaxInt32)
	} else {
		baseMults.Store(0)
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

// FuzzSignMatchesStdlib holds the signer, with and without the base-point table, to
// crypto/ed25519 byte for byte.
func FuzzSignMatchesStdlib(f *testing.F) {
	f.Add([]byte{1}, []byte("3:seqi1e1:v5:hello"), false)
	f.Add([]byte{1}, []byte("3:seqi1e1:v5:hello"), true)
	f.Add(bytes.Repeat([]byte{0xff}, 32), []byte{}, false)
	f.Fuzz(func(t *testing.T, seedBytes, msg []byte, tables bool) {
		var seed [ed25519.SeedSize]byte
		copy(seed[:], seedBytes)
		withTables(t, tables)
		s, err := NewSigner(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		priv := ed25519.NewKeyFromSeed(seed[:])
		if !bytes.Equal(s.PublicKey(), priv[32:]) {
			t.Errorf("seed %x, tables %t: public key %x, crypto/ed25519 %x", seed, tables, s.PublicKey(), priv[32:])
		}
		if got, want := s.Sign(msg), ed25519.Sign(priv, msg); !bytes.Equal(got, want) {
			t.Errorf("seed %x, tables %t, message %x: signature %x, crypto/ed25519 %x", seed, tables, msg, got, want)
		}
	})
}

// BenchmarkBaseMult: a signature in a warm process, with and without the base-point table
// (whose one-time cost BenchmarkFirstUse shows).
func BenchmarkBaseMult(b *testing.B) {
	s, err := NewSigner(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	msg := SignedBuffer(benchSalt, 1, benchV)
	for _, tables := range []bool{false, true} {
		// The counter is reset in the loop so that every iteration stays on one side of the switch.
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
	}
}

// firstUseEnv names the operation a child process of BenchmarkFirstUse times.
const firstUseEnv = "BEP44_FIRST_USE"

func TestMain(m *testing.M) {
	if op := os.Getenv(firstUseEnv); op != "" {
		os.Exit(firstUse(op))
	}
	os.Exit(m.Run())
}

// firstUse runs op twice in this fresh process and prints how long each run took, in
// nanoseconds: the first run builds what op builds on first use, as the one signature of
// grenache put -m and the one verification of grenache get do.
func firstUse(op string) int {
	seed := bytes.Repeat([]byte{1}, 32)
	msg := SignedBuffer(benchSalt, 1, benchV)
	var run func() bool
	switch op {
	case "sign/table":
		baseMults.Store(math.MaxInt32)
		fallthrough
	case "sign/no-table":
		run = func() bool {
			s, err := NewSigner(seed)
			return err == nil && len(s.Sign(msg)) == SignatureSize
		}
	case "sign/crypto-ed25519":
		run = func() bool { return len(ed25519.Sign(ed25519.NewKeyFromSeed(seed), msg)) == SignatureSize }
	case "verify":
		// Signed without a table, so that crypto/ed25519's is still unbuilt.
		s, err := NewSigner(seed)
		if err != nil {
			return 1
		}
		it, err := NewMutable(s, benchSalt, 1, benchV)
		if err != nil {
			return 1
		}
		run = func() bool { return Verify(it.K, it.Salt, it.Seq, it.V, it.Sig) }
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown operation %q\n", firstUseEnv, op)
		return 2
	}
	var took [2]time.Duration
	for i := range took {
		start := time.Now()
		if !run() {
			fmt.Fprintf(os.Stderr, "%s: %s failed\n", firstUseEnv, op)
			return 1
		}
		took[i] = time.Since(start)
	}
	fmt.Println(took[0].Nanoseconds(), took[1].Nanoseconds())
	return 0
}

// BenchmarkFirstUse runs each operation in a fresh process per iteration and reports the
// medians of its first run there (one-time costs such as building a base-point table
// included) and of its second. ns/op is the whole child process. docs/performance.md
// quotes it.
func BenchmarkFirstUse(b *testing.B) {
	for _, op := range []string{"sign/no-table", "sign/table", "sign/crypto-ed25519", "verify"} {
		b.Run(op, func(b *testing.B) {
			var first, second []float64
			for b.Loop() {
				cmd := exec.Command(os.Args[0])
				cmd.Env = append(os.Environ(), firstUseEnv+"="+op)
				cmd.Stderr = os.Stderr
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("%s: %v", op, err)
				}
				f := strings.Fields(string(out))
				if len(f) != 2 {
					b.Fatalf("%s: child printed %q", op, out)
				}
				for i, dst := range []*[]float64{&first, &second} {
					ns, err := strconv.ParseFloat(f[i], 64)
					if err != nil {
						b.Fatalf("%s: child printed %q", op, out)
					}
					*dst = append(*dst, ns)
				}
			}
			b.ReportMetric(median(first), "first-ns/op")
			b.ReportMetric(median(second), "second-ns/op")
		})
	}
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
