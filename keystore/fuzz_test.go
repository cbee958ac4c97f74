package keystore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// encodes to a file that parses back to the same pair.
func FuzzParse(f *testing.F) {
	f.Add([]byte(seedFile()))
	f.Add([]byte(expandedFile()))
	f.Add([]byte("# created: 2026-11-26T01:53:48.123456789+05:30\n" + expandedFile()))
	f.Add([]byte("# public key: " + rfcPublicHex + "\nseed " + rfcSeedHex[:63] + "\n"))
	f.Add([]byte("seed\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		again, err := Parse("fuzz", Encode(p))
		if err != nil {
			t.Fatalf("re-encoded pair does not parse: %v\n%s", err, Encode(p))
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}
