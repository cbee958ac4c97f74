package keystore

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testPath = "/cfg/grenache/key"

func seedFile() string {
	return "# grenache ed25519 key pair. Keep it secret: it proves ownership of your mutable items.\n" +
		"# created: 2026-11-26T01:53:48Z\n" +
		"# public key: " + rfcPublicHex + "\n" +
		"seed " + rfcSeedHex + "\n"
}

func expandedFile() string {
	return "# public key: " + bepPublicHex + "\n" +
		"expanded " + bepSecretHex + "\n"
}

func TestParse(t *testing.T) {
	seedPair := func() *Pair {
		return &Pair{
			Public:  mustHex(t, rfcPublicHex),
			Private: mustHex(t, rfcSeedHex),
			Kind:    KindSeed,
			Path:    testPath,
			Created: fixedNow,
		}
	}
	for _, tc := range []struct {
		name string
		data string
		want *Pair
	}{
		{"seed", seedFile(), seedPair()},
		{"expanded without created", expandedFile(), &Pair{
			Public:  mustHex(t, bepPublicHex),
			Private: mustHex(t, bepSecretHex),
			Kind:    KindExpanded,
			Path:    testPath,
		}},
		{"blank lines, other comments, spaces, CRLF, upper case, no final newline",
			"\r\n# a note of my own\r\n  # public key:   " + strings.ToUpper(rfcPublicHex) + "  \r\n\n" +
				"# created: 2026-11-26T02:53:48+01:00\r\n\tseed   " + strings.ToUpper(rfcSeedHex),
			seedPair()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(testPath, []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	good := seedFile()
	lines := strings.Split(good, "\n") // 0 header, 1 created, 2 public, 3 seed
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	otherPublic := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		data string
		want string // prefix of the message after the path
	}{
		{"empty", "", ":1: no private key line"},
		{"missing public comment", join(lines[0], lines[1], lines[3]), ":3: private key has no \"# public key:\" comment"},
		{"mismatched public", join(lines[0], lines[1], "# public key: "+otherPublic, lines[3]), ":3: public key " + otherPublic + " does not match the private key on line 4"},
		{"public of the other kind", join("# public key: "+bepPublicHex, "seed "+bepSecretHex[:64]), ":1: public key " + bepPublicHex + " does not match"},
		{"two private lines", join(lines[2], lines[3], lines[3]), ":3: second private key line (first at line 2)"},
		{"seed and expanded", join(lines[2], lines[3], "expanded "+bepSecretHex), ":3: second private key line"},
		{"two public comments", join(lines[2], lines[2], lines[3]), ":2: second \"# public key:\" comment"},
		{"two created comments", join(lines[1], lines[1], lines[2], lines[3]), ":2: second \"# created:\" comment"},
		{"bad hex in seed", join(lines[2], "seed "+strings.Repeat("g", 64)), ":2: seed: not hex"},
		{"bad hex in public", join("# public key: "+strings.Repeat("x", 64), lines[3]), ":1: public key: not hex"},
		{"truncated seed", good[:len(good)-10], ":4: seed: want 64 hex characters, found 55"},
		{"truncated before the private line", join(lines[0], lines[1], lines[2]), ":4: no private key line"},
		{"truncated public", join("# public key: " + rfcPublicHex[:40]), ":1: public key: want 64 hex characters, found 40"},
		{"expanded too short", join("# public key: "+bepPublicHex, "expanded "+bepSecretHex[:64]), ":2: expanded: want 128 hex characters, found 64"},
		{"seed too long", join(lines[2], lines[3]+"00"), ":2: seed: want 64 hex characters, found 66"},
		{"missing hex", join(lines[2], "seed"), ":2: want \"seed\" followed by one hex string"},
		{"extra field", join(lines[2], lines[3]+" extra"), ":2: want \"seed\" followed by one hex string"},
		{"unknown line", join(lines[2], "secret "+rfcSeedHex), ":2: unexpected line"},
		{"bad created", join("# created: yesterday", lines[2], lines[3]), ":1: creation time \"yesterday\" is not an RFC 3339 time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(testPath, []byte(tc.data))
			if err == nil {
				t.Fatalf("Parse returned %v, want an error", p)
			}
			if !strings.HasPrefix(err.Error(), testPath+tc.want) {
				t.Errorf("error %q does not start with %q", err, testPath+tc.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	p := &Pair{
		Public:  mustHex(t, rfcPublicHex),
		Private: mustHex(t, rfcSeedHex),
		Kind:    KindSeed,
		Created: time.Date(2026, 11, 26, 2, 53, 48, 0, time.FixedZone("CET", 3600)),
	}
	if diff := cmp.Diff(seedFile(), string(Encode(p))); diff != "" {
		t.Errorf("Encode mismatch (-want +got):\n%s", diff)
	}
	p = &Pair{Public: mustHex(t, bepPublicHex), Private: mustHex(t, bepSecretHex), Kind: KindExpanded}
	want := "# grenache ed25519 key pair. Keep it secret: it proves ownership of your mutable items.\n" + expandedFile()
	if diff := cmp.Diff(want, string(Encode(p))); diff != "" {
		t.Errorf("Encode mismatch (-want +got):\n%s", diff)
	}
}

// The BEP 44 vector's expanded secret must give the vector's public key, and
// an RFC 8032 seed its public key: the two derivations the format relies on.
func TestDerivePublic(t *testing.T) {
	if diff := cmp.Diff(bepPublicHex, hexOf(derivePublic(KindExpanded, mustHex(t, bepSecretHex)))); diff != "" {
		t.Errorf("expanded derivation mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(rfcPublicHex, hexOf(derivePublic(KindSeed, mustHex(t, rfcSeedHex)))); diff != "" {
		t.Errorf("seed derivation mismatch (-want +got):\n%s", diff)
	}
}

func TestKindString(t *testing.T) {
	got := []string{KindSeed.String(), KindExpanded.String(), Kind(0).String()}
	if diff := cmp.Diff([]string{"seed", "expanded", "Kind(0)"}, got); diff != "" {
		t.Errorf("Kind.String mismatch (-want +got):\n%s", diff)
	}
}
