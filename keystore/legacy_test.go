package keystore

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadLegacyBEP44Vector(t *testing.T) {
	for _, tc := range []struct {
		name     string
		key, pub string
	}{
		{"as written by the original tool", bepSecretHex, bepPublicHex},
		{"trailing newlines", bepSecretHex + "\n", bepPublicHex + "\n"},
		{"upper case", strings.ToUpper(bepSecretHex), strings.ToUpper(bepPublicHex) + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			writeLegacy(t, s, tc.key, tc.pub)
			want := &Pair{
				Public:  mustHex(t, bepPublicHex),
				Private: mustHex(t, bepSecretHex),
				Kind:    KindExpanded,
				Path:    filepath.Join(s.LegacyDir, "key"),
				Legacy:  true,
			}
			got, err := s.LoadLegacy()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LoadLegacy mismatch (-want +got):\n%s", diff)
			}
			// Load falls back to the legacy pair when the new file is absent.
			got, err = s.Load()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadLegacyErrors(t *testing.T) {
	otherPublic := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	for _, tc := range []struct {
		name     string
		key, pub *string // nil: file absent
		// want lists parts of the message; "KEY" and "PUB" stand for the
		// files' paths.
		want []string
	}{
		{"mismatch", ptr(bepSecretHex), ptr(hexOf(otherPublic)), []string{"KEY", "PUB", "do not match", bepPublicHex, hexOf(otherPublic)}},
		{"key truncated", ptr(bepSecretHex[:100]), ptr(bepPublicHex), []string{"KEY:", "want 128 hex characters, found 100"}},
		{"key too long", ptr(bepSecretHex + "00"), ptr(bepPublicHex), []string{"KEY:", "found 130"}},
		{"key two newlines", ptr(bepSecretHex + "\n\n"), ptr(bepPublicHex), []string{"KEY:", "found 129"}},
		{"key empty", ptr(""), ptr(bepPublicHex), []string{"KEY:", "found 0"}},
		{"key not hex", ptr("zz" + bepSecretHex[2:]), ptr(bepPublicHex), []string{"KEY:", "not hex"}},
		{"pub truncated", ptr(bepSecretHex), ptr(bepPublicHex[:63]), []string{"PUB:", "want 64 hex characters, found 63"}},
		{"pub not hex", ptr(bepSecretHex), ptr(bepPublicHex[:62] + "xx"), []string{"PUB:", "not hex"}},
		{"pub missing", ptr(bepSecretHex), nil, []string{"KEY", "PUB", "does not"}},
		{"key missing", nil, ptr(bepPublicHex), []string{"KEY", "PUB", "private key is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			keyPath := filepath.Join(s.LegacyDir, "key")
			pubPath := filepath.Join(s.LegacyDir, "key.pub")
			if tc.key != nil {
				writeFile(t, keyPath, []byte(*tc.key), 0o600)
			}
			if tc.pub != nil {
				writeFile(t, pubPath, []byte(*tc.pub), 0o644)
			}
			for _, load := range []func() (*Pair, error){s.LoadLegacy, s.Load} {
				pair, err := load()
				if err == nil {
					t.Fatalf("loaded %v, want an error", pair)
				}
				if errors.Is(err, ErrNoKey) {
					t.Errorf("error %v wraps ErrNoKey: a damaged pair is not an absent one", err)
				}
				for _, w := range tc.want {
					w = strings.NewReplacer("KEY", keyPath, "PUB", pubPath).Replace(w)
					if err := containsAll(err.Error(), w); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
}

func TestLoadLegacyPermissionRefused(t *testing.T) {
	s := newStore(t)
	writeLegacy(t, s, bepSecretHex, bepPublicHex)
	key := filepath.Join(s.LegacyDir, "key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.LoadLegacy()
	var perr *PermissionError
	if !errors.As(err, &perr) {
		t.Fatalf("error %v, want a *PermissionError", err)
	}
	if diff := cmp.Diff(&PermissionError{Path: key, Mode: 0o644}, perr); diff != "" {
		t.Errorf("PermissionError mismatch (-want +got):\n%s", diff)
	}
	if _, _, err := s.Import(false); !errors.As(err, &perr) {
		t.Errorf("Import: error %v, want a *PermissionError", err)
	}
	if _, err := os.Stat(s.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refused Import created %s", s.Path())
	}
}

func TestLoadLegacyNoKey(t *testing.T) {
	s := newStore(t)
	if _, err := s.LoadLegacy(); !errors.Is(err, ErrNoKey) {
		t.Errorf("LoadLegacy: error %v, want ErrNoKey", err)
	}
	if _, _, err := s.Import(false); !errors.Is(err, ErrNoKey) {
		t.Errorf("Import: error %v, want ErrNoKey", err)
	}
}

func TestImportThenLoad(t *testing.T) {
	s := newStore(t)
	writeLegacy(t, s, bepSecretHex, bepPublicHex)
	pair, backup, err := s.Import(false)
	if err != nil {
		t.Fatal(err)
	}
	if backup != "" {
		t.Errorf("backup = %q, want none", backup)
	}
	want := &Pair{
		Public:  mustHex(t, bepPublicHex),
		Private: mustHex(t, bepSecretHex),
		Kind:    KindExpanded,
		Path:    s.Path(),
		Created: fixedNow,
	}
	if diff := cmp.Diff(want, pair); diff != "" {
		t.Errorf("imported pair mismatch (-want +got):\n%s", diff)
	}
	loaded, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, loaded); diff != "" {
		t.Errorf("loaded pair mismatch (-want +got):\n%s", diff)
	}
	wantFile := "# grenache ed25519 key pair. Keep it secret: it proves ownership of your mutable items.\n" +
		"# created: 2026-11-26T01:53:48Z\n" +
		"# public key: " + bepPublicHex + "\n" +
		"expanded " + bepSecretHex + "\n"
	if diff := cmp.Diff(wantFile, string(readFile(t, s.Path()))); diff != "" {
		t.Errorf("key file mismatch (-want +got):\n%s", diff)
	}

	// A second import is refused without force and kept aside with it.
	old := readFile(t, s.Path())
	if _, _, err := s.Import(false); !errors.Is(err, ErrExists) {
		t.Errorf("second Import: error %v, want ErrExists", err)
	}
	_, backup, err = s.Import(true)
	if err != nil {
		t.Fatal(err)
	}
	if backup == "" || string(readFile(t, backup)) != string(old) {
		t.Errorf("forced Import: backup %q does not hold the previous file", backup)
	}
}

func ptr(s string) *string { return &s }

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// TestLoadNoKeyNamesOwnPath: with no pair anywhere, Load names grenache's own
// key path, where a pair is expected, not the original tool's folder.
func TestLoadNoKeyNamesOwnPath(t *testing.T) {
	s := newStore(t)
	_, err := s.Load()
	if !errors.Is(err, ErrNoKey) || err.Error() != "no key pair found at "+s.Path() {
		t.Errorf("Load: %v, want ErrNoKey at %s", err, s.Path())
	}
	_, _, err = s.Import(false)
	want := "no key pair found: the original grenache-cli's files " + filepath.Join(s.LegacyDir, "key") + " and " +
		filepath.Join(s.LegacyDir, "key.pub") + " do not exist"
	if !errors.Is(err, ErrNoKey) || err.Error() != want {
		t.Errorf("Import: %v, want %q", err, want)
	}
}
