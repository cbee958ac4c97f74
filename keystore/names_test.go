package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckName(t *testing.T) {
	good := []string{"a", "Z", "0", "work", "ci-2026", "my_key.v2", "default", "legacy",
		"backup", "bak2", "x.baks", strings.Repeat("k", MaxNameLen)}
	for _, n := range good {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", ".hidden", "-f", "_x", "a/b", "..", "a b", "é", "a\x00", "a*",
		"bak", "x.bak", "bak.x", "x.bak.20261126T015348Z", strings.Repeat("k", MaxNameLen+1)}
	for _, n := range bad {
		if err := CheckName(n); !errors.Is(err, ErrBadName) {
			t.Errorf("CheckName(%q) = %v, want ErrBadName", n, err)
		}
	}
}

// named returns a copy of s that selects the pair name.
func named(s *Store, name string) *Store {
	n := *s
	n.Name = name
	return &n
}

func TestNamedPairFile(t *testing.T) {
	s := newStore(t)
	s.Rand = seedReader{1}
	def, _, err := s.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	w := named(s, "work")
	w.Rand = seedReader{2}
	pair, backup, err := w.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(s.Dir, "key.work"); pair.Path != want || w.Path() != want || backup != "" {
		t.Errorf("named pair at %q (Path %q, backup %q), want %q and no backup", pair.Path, w.Path(), backup, want)
	}
	info, err := os.Stat(pair.Path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key.work: %v, mode %v, want 0600", err, info.Mode().Perm())
	}
	loaded, err := w.Load()
	if err != nil || cmp.Diff(pair, loaded) != "" {
		t.Errorf("Load of the named pair = %v, %v; want %v", loaded, err, pair)
	}
	// The default pair is untouched and still the one Load gives without a
	// name, or with "default".
	for _, name := range []string{"", DefaultName} {
		got, err := named(s, name).Load()
		if err != nil || cmp.Diff(def.Public, got.Public) != "" {
			t.Errorf("Load with name %q = %v, %v; want the default pair", name, got, err)
		}
	}
	if diff := cmp.Diff([]string{"key", "key.work"}, listDir(t, s.Dir)); diff != "" {
		t.Errorf("folder mismatch (-want +got):\n%s", diff)
	}
}

func TestNamedPairExistsAndForce(t *testing.T) {
	s := named(newStore(t), "ci")
	s.Rand = seedReader{3}
	first, _, err := s.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	s.Rand = seedReader{4}
	if _, _, err := s.Generate(false); !errors.Is(err, ErrExists) {
		t.Fatalf("second Generate without force = %v, want ErrExists", err)
	}
	second, backup, err := s.Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(s.Dir, "key.ci.bak.20261126T015348Z"); backup != want {
		t.Errorf("backup = %q, want %q", backup, want)
	}
	old, err := Parse(backup, readFile(t, backup))
	if err != nil || cmp.Diff(first.Public, old.Public) != "" {
		t.Errorf("the backup holds %v (%v), want the first pair", old, err)
	}
	if cmp.Diff(first.Public, second.Public) == "" {
		t.Error("--force kept the same pair")
	}
	// The default pair was never created; a backup is not a pair.
	if diff := cmp.Diff([]string{"key.ci", "key.ci.bak.20261126T015348Z"}, listDir(t, s.Dir)); diff != "" {
		t.Errorf("folder mismatch (-want +got):\n%s", diff)
	}
}

func TestNamedPairNoFallback(t *testing.T) {
	s := newStore(t)
	writeLegacy(t, s, bepSecretHex, bepPublicHex)
	s.Rand = seedReader{5}
	if _, _, err := s.Generate(false); err != nil {
		t.Fatal(err)
	}
	_, err := named(s, "missing").Load()
	if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), filepath.Join(s.Dir, "key.missing")) {
		t.Errorf("Load of a missing named pair = %v, want ErrNoKey naming key.missing", err)
	}
	leg, err := named(s, LegacyName).Load()
	if err != nil || !leg.Legacy || fmt.Sprintf("%x", leg.Public) != bepPublicHex {
		t.Errorf("Load of %q = %v, %v; want the original tool's pair", LegacyName, leg, err)
	}
	if _, err := named(s, "a/b").Load(); !errors.Is(err, ErrBadName) {
		t.Errorf("Load of a bad name = %v, want ErrBadName", err)
	}
}

func TestNamedPairRefusedNames(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"../escape", "x.bak.1", ".key.tmp-1"} {
		if _, _, err := named(s, name).Generate(false); !errors.Is(err, ErrBadName) {
			t.Errorf("Generate %q = %v, want ErrBadName", name, err)
		}
	}
	writeLegacy(t, s, bepSecretHex, bepPublicHex)
	if _, _, err := named(s, LegacyName).Generate(true); !errors.Is(err, ErrLegacyReadOnly) {
		t.Errorf("Generate legacy = %v, want ErrLegacyReadOnly", err)
	}
	if _, _, err := named(s, LegacyName).Import(true); !errors.Is(err, ErrLegacyReadOnly) {
		t.Errorf("Import to legacy = %v, want ErrLegacyReadOnly", err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused name created the key folder: %v", err)
	}
}

func TestNamedPairImport(t *testing.T) {
	s := named(newStore(t), "old")
	writeLegacy(t, s, bepSecretHex, bepPublicHex)
	pair, _, err := s.Import(false)
	if err != nil {
		t.Fatal(err)
	}
	if pair.Path != filepath.Join(s.Dir, "key.old") || fmt.Sprintf("%x", pair.Public) != bepPublicHex || pair.Kind != KindExpanded {
		t.Errorf("imported pair %+v, want the legacy pair in key.old", pair)
	}
}

type listed struct{ Name, Public, Err string }

func summarize(entries []Entry) []listed {
	var out []listed
	for _, e := range entries {
		l := listed{Name: e.Name}
		if e.Pair != nil {
			l.Public = fmt.Sprintf("%x", e.Pair.Public)
		}
		if e.Err != nil {
			l.Err = e.Err.Error()
		}
		out = append(out, l)
	}
	return out
}

func TestList(t *testing.T) {
	s := newStore(t)
	if got, err := s.List(); err != nil || len(got) != 0 {
		t.Fatalf("List of a store that does not exist = %v, %v; want nothing", got, err)
	}
	pub := map[string]string{}
	for i, name := range []string{"zeta", "", "Alpha", "m.1"} {
		n := named(s, name)
		n.Rand = seedReader{byte(10 + i)}
		p, _, err := n.Generate(false)
		if err != nil {
			t.Fatal(err)
		}
		pub[name] = fmt.Sprintf("%x", p.Public)
	}
	// A backup, a temporary file, an invalid name, a reserved name and a
	// folder that is no pair at all.
	if _, _, err := named(s, "zeta").Generate(true); err != nil {
		t.Fatal(err)
	}
	pub["zeta"] = fmt.Sprintf("%x", mustLoad(t, named(s, "zeta")).Public)
	writeFile(t, filepath.Join(s.Dir, ".key.tmp-123"), []byte("x"), 0o600)
	writeFile(t, filepath.Join(s.Dir, "key.-x"), []byte("x"), 0o600)
	writeFile(t, filepath.Join(s.Dir, "key.default"), []byte("x"), 0o600)
	writeFile(t, filepath.Join(s.Dir, "notes"), []byte("x"), 0o600)
	writeFile(t, filepath.Join(s.Dir, "key.open"), []byte("x"), 0o644)
	writeLegacy(t, s, bepSecretHex, bepPublicHex)

	got, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	openPath := filepath.Join(s.Dir, "key.open")
	want := []listed{
		{Name: "Alpha", Public: pub["Alpha"]},
		{Name: "default", Public: pub[""]},
		{Name: "legacy", Public: bepPublicHex},
		{Name: "m.1", Public: pub["m.1"]},
		{Name: "open", Err: (&PermissionError{Path: openPath, Mode: 0o644}).Error()},
		{Name: "zeta", Public: pub["zeta"]},
	}
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}
	if got[2].Path != filepath.Join(s.LegacyDir, "key") || got[1].Path != filepath.Join(s.Dir, "key") {
		t.Errorf("paths: legacy %q, default %q", got[2].Path, got[1].Path)
	}

	// Half of the original tool's pair is listed with its error, not hidden.
	os.Remove(filepath.Join(s.LegacyDir, "key"))
	got, err = s.List()
	if err != nil {
		t.Fatal(err)
	}
	if l := summarize(got)[2]; l.Name != LegacyName || !strings.Contains(l.Err, "the private key is missing") {
		t.Errorf("half a legacy pair listed as %+v", l)
	}
}

func TestListUnreadableFolder(t *testing.T) {
	s := newStore(t)
	writeFile(t, filepath.Join(filepath.Dir(s.Dir), "grenache"), []byte("a file"), 0o600)
	if _, err := s.List(); err == nil || !strings.Contains(err.Error(), "cannot list the key folder") {
		t.Errorf("List of a folder that is a file = %v", err)
	}
}

func mustLoad(t *testing.T, s *Store) *Pair {
	t.Helper()
	p, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
