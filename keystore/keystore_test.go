package keystore

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// helperEnv makes the test binary act as a one-shot "generate" process, so
// that real processes can race each other.
const helperEnv = "GRENACHE_KEYSTORE_TEST_GENERATE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		s := &Store{Dir: dir}
		_, _, err := s.Generate(false)
		switch {
		case err == nil:
			os.Exit(0)
		case errors.Is(err, ErrExists):
			os.Exit(3)
		default:
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func TestGenerateLoadRoundTrip(t *testing.T) {
	s := newStore(t)
	s.Rand = seedReader{0x42}
	pair, backup, err := s.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	if backup != "" {
		t.Errorf("backup = %q, want none", backup)
	}
	seed := bytes.Repeat([]byte{0x42}, 32)
	priv := ed25519.NewKeyFromSeed(seed)
	want := &Pair{
		Public:  priv.Public().(ed25519.PublicKey),
		Private: seed,
		Kind:    KindSeed,
		Path:    s.Path(),
		Created: fixedNow,
	}
	if diff := cmp.Diff(want, pair); diff != "" {
		t.Errorf("generated pair mismatch (-want +got):\n%s", diff)
	}
	loaded, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, loaded); diff != "" {
		t.Errorf("loaded pair mismatch (-want +got):\n%s", diff)
	}
	msg := []byte("3:seqi1e1:v12:Hello World!")
	if !ed25519.Verify(loaded.Public, msg, ed25519.Sign(ed25519.NewKeyFromSeed(loaded.Private), msg)) {
		t.Error("a signature made from the loaded seed does not verify with the loaded public key")
	}

	wantFile := "# grenache ed25519 key pair. Keep it secret: it proves ownership of your mutable items.\n" +
		"# created: 2026-11-26T01:53:48Z\n" +
		fmt.Sprintf("# public key: %x\n", want.Public) +
		fmt.Sprintf("seed %x\n", seed)
	if diff := cmp.Diff(wantFile, string(readFile(t, s.Path()))); diff != "" {
		t.Errorf("key file mismatch (-want +got):\n%s", diff)
	}
}

func TestGenerateModes(t *testing.T) {
	s := newStore(t)
	if _, _, err := s.Generate(false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want fs.FileMode
	}{
		{s.Dir, fs.ModeDir | 0o700},
		{s.Path(), 0o600},
	} {
		info, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode(); got != c.want {
			t.Errorf("%s: mode %v, want %v", c.path, got, c.want)
		}
	}
	if diff := cmp.Diff([]string{"key"}, listDir(t, s.Dir)); diff != "" {
		t.Errorf("folder entries mismatch (-want +got):\n%s", diff)
	}
}

func TestGenerateRandomKeysDiffer(t *testing.T) {
	a, _, err := newStore(t).Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := newStore(t).Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Private, b.Private) {
		t.Error("two generated seeds are equal")
	}
}

func TestGenerateExistingRefused(t *testing.T) {
	s := newStore(t)
	if _, _, err := s.Generate(false); err != nil {
		t.Fatal(err)
	}
	old := readFile(t, s.Path())
	pair, backup, err := s.Generate(false)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Generate: error %v, want ErrExists", err)
	}
	if pair != nil || backup != "" {
		t.Errorf("second Generate returned pair %v, backup %q; want nothing", pair, backup)
	}
	if err := containsAll(err.Error(), s.Path()); err != nil {
		t.Error(err)
	}
	if !bytes.Equal(old, readFile(t, s.Path())) {
		t.Error("refused Generate changed the key file")
	}
	if diff := cmp.Diff([]string{"key"}, listDir(t, s.Dir)); diff != "" {
		t.Errorf("folder entries mismatch (-want +got):\n%s", diff)
	}
}

func TestGenerateForceKeepsBackup(t *testing.T) {
	s := newStore(t)
	s.Rand = seedReader{1}
	first, _, err := s.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	firstFile := readFile(t, s.Path())

	s.Rand = seedReader{2}
	second, backup, err := s.Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.Path() + ".bak.20261126T015348Z"; backup != want {
		t.Errorf("backup = %q, want %q", backup, want)
	}
	if !bytes.Equal(firstFile, readFile(t, backup)) {
		t.Error("backup differs from the previous key file")
	}
	if bytes.Equal(first.Private, second.Private) || bytes.Equal(first.Public, second.Public) {
		t.Error("forced Generate kept the old key")
	}
	loaded, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second, loaded); diff != "" {
		t.Errorf("loaded pair mismatch (-want +got):\n%s", diff)
	}

	// Same second again: the first backup name is taken.
	secondFile := readFile(t, s.Path())
	s.Rand = seedReader{3}
	_, backup2, err := s.Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.Path() + ".bak.20261126T015348Z-2"; backup2 != want {
		t.Errorf("second backup = %q, want %q", backup2, want)
	}
	if !bytes.Equal(secondFile, readFile(t, backup2)) {
		t.Error("second backup differs from the key file it replaced")
	}
	if !bytes.Equal(firstFile, readFile(t, backup)) {
		t.Error("first backup was changed")
	}
	want := []string{"key", "key.bak.20261126T015348Z", "key.bak.20261126T015348Z-2"}
	if diff := cmp.Diff(want, listDir(t, s.Dir)); diff != "" {
		t.Errorf("folder entries mismatch (-want +got):\n%s", diff)
	}
}

func TestGenerateForceWithoutPreviousKey(t *testing.T) {
	s := newStore(t)
	_, backup, err := s.Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	if backup != "" {
		t.Errorf("backup = %q, want none", backup)
	}
	if diff := cmp.Diff([]string{"key"}, listDir(t, s.Dir)); diff != "" {
		t.Errorf("folder entries mismatch (-want +got):\n%s", diff)
	}
}

func TestGenerateFailureKeepsOldPair(t *testing.T) {
	injected := errors.New("injected failure")
	for _, tc := range []struct {
		name    string
		force   bool
		prepare func(s *Store)
		wantErr string
	}{
		{"rand fails", false, func(s *Store) { s.Rand = failingReader{} }, "entropy source broken"},
		{"rand fails, force", true, func(s *Store) { s.Rand = failingReader{} }, "entropy source broken"},
		{"install fails, force", true, func(s *Store) {
			s.BeforeInstall = func(tmp string) error {
				// The temporary file and the backup exist at this point,
				// so the test shows they are cleaned up afterwards.
				if _, err := os.Stat(tmp); err != nil {
					t.Errorf("temporary file missing before install: %v", err)
				}
				return injected
			}
		}, "injected failure"},
		{"install fails", false, func(s *Store) {
			s.BeforeInstall = func(string) error { return injected }
		}, "injected failure"},
		{"rename fails, force", true, func(s *Store) {
			s.BeforeInstall = func(string) error {
				// A folder in the way of the rename (the key moved aside
				// and replaced) makes os.Rename fail for real.
				key := s.Path()
				if err := os.Rename(key, key+".aside"); err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Join(key, "x"), 0o700); err != nil {
					return err
				}
				return nil
			}
		}, "cannot install the new key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if _, _, err := s.Generate(false); err != nil {
				t.Fatal(err)
			}
			old := readFile(t, s.Path())
			tc.prepare(s)
			pair, backup, err := s.Generate(tc.force)
			if err == nil {
				t.Fatal("Generate succeeded, want an error")
			}
			if err := containsAll(err.Error(), tc.wantErr); err != nil {
				t.Error(err)
			}
			if pair != nil || backup != "" {
				t.Errorf("failed Generate returned pair %v, backup %q", pair, backup)
			}
			keyPath := s.Path()
			want := []string{"key"}
			if tc.name == "rename fails, force" {
				keyPath = s.Path() + ".aside"
				want = []string{"key", "key.aside"}
			}
			if !bytes.Equal(old, readFile(t, keyPath)) {
				t.Error("failed Generate changed the old key file")
			}
			if diff := cmp.Diff(want, listDir(t, s.Dir)); diff != "" {
				t.Errorf("folder entries mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenerateFolderCannotBeCreated(t *testing.T) {
	s := newStore(t)
	parent := filepath.Dir(s.Dir)
	writeFile(t, parent, []byte("not a folder"), 0o600)
	if _, _, err := s.Generate(false); err == nil {
		t.Fatal("Generate succeeded under a file, want an error")
	}
}

func TestGenerateRaceGoroutines(t *testing.T) {
	for round := 0; round < 20; round++ {
		dir := filepath.Join(t.TempDir(), "grenache")
		const n = 4
		var (
			wg    sync.WaitGroup
			pairs [n]*Pair
			errs  [n]error
		)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := &Store{Dir: dir}
				pairs[i], _, errs[i] = s.Generate(false)
			}()
		}
		wg.Wait()
		var winner *Pair
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != nil {
					t.Fatalf("round %d: two Generate calls both won", round)
				}
				winner = pairs[i]
			case !errors.Is(err, ErrExists):
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no Generate call won", round)
		}
		loaded, err := (&Store{Dir: dir}).Load()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if diff := cmp.Diff(winner, loaded); diff != "" {
			t.Errorf("round %d: stored pair mismatch (-want +got):\n%s", round, diff)
		}
		if diff := cmp.Diff([]string{"key"}, listDir(t, dir)); diff != "" {
			t.Errorf("round %d: folder entries mismatch (-want +got):\n%s", round, diff)
		}
	}
}

// TestGenerateForceRaceKeepsEveryPair: forced replacements racing over one
// folder, each pausing between keeping its backup and installing (where an
// unlocked replacement loses pairs: all back up the same old pair, then
// rename over each other). Every pair made is found afterwards, as the key or
// in a backup, and so is the first one.
func TestGenerateForceRaceKeepsEveryPair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "grenache")
	first, _, err := (&Store{Dir: dir}).Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	var (
		wg    sync.WaitGroup
		pairs [n]*Pair
		errs  [n]error
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &Store{Dir: dir, BeforeInstall: func(string) error { time.Sleep(30 * time.Millisecond); return nil }}
			pairs[i], _, errs[i] = s.Generate(true)
		}()
	}
	wg.Wait()
	found := map[string]string{}
	for _, name := range listDir(t, dir) {
		p, err := Parse(name, readFile(t, filepath.Join(dir, name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		found[hexOf(p.Public)] = name
	}
	if _, ok := found[hexOf(first.Public)]; !ok {
		t.Errorf("the first pair is in no file")
	}
	for i, p := range pairs {
		if errs[i] != nil {
			t.Fatalf("Generate(true): %v", errs[i])
		}
		if _, ok := found[hexOf(p.Public)]; !ok {
			t.Errorf("pair %d (%s) is in no file; the folder holds %v", i, hexOf(p.Public), found)
		}
	}
	if len(found) != n+1 {
		t.Errorf("the folder holds %d pairs, want %d: %v", len(found), n+1, found)
	}
}

func TestGenerateRaceProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		dir := filepath.Join(t.TempDir(), "grenache")
		var cmds []*exec.Cmd
		var outs []*bytes.Buffer
		for i := 0; i < 2; i++ {
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+dir)
			out := new(bytes.Buffer)
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, outs = append(cmds, cmd), append(outs, out)
		}
		var codes []int
		for i, cmd := range cmds {
			err := cmd.Wait()
			var exitErr *exec.ExitError
			switch {
			case err == nil:
				codes = append(codes, 0)
			case errors.As(err, &exitErr):
				codes = append(codes, exitErr.ExitCode())
			default:
				t.Fatal(err)
			}
			if codes[i] != 0 && codes[i] != 3 {
				t.Errorf("round %d: process %d: exit %d: %s", round, i, codes[i], outs[i])
			}
		}
		if codes[0]+codes[1] != 3 {
			t.Errorf("round %d: exit codes %v, want one 0 (won) and one 3 (ErrExists)", round, codes)
		}
		if _, err := (&Store{Dir: dir}).Load(); err != nil {
			t.Errorf("round %d: %v", round, err)
		}
		if diff := cmp.Diff([]string{"key"}, listDir(t, dir)); diff != "" {
			t.Errorf("round %d: folder entries mismatch (-want +got):\n%s", round, diff)
		}
	}
}

func TestLoadNoKey(t *testing.T) {
	s := newStore(t)
	if _, err := s.Load(); !errors.Is(err, ErrNoKey) {
		t.Errorf("Load with no files: error %v, want ErrNoKey", err)
	}
}

func TestLoadPermissionRefused(t *testing.T) {
	s := newStore(t)
	if _, _, err := s.Generate(false); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		if err := os.Chmod(s.Path(), mode); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load()
		var perr *PermissionError
		if !errors.As(err, &perr) {
			t.Fatalf("mode %04o: error %v, want a *PermissionError", mode, err)
		}
		if diff := cmp.Diff(&PermissionError{Path: s.Path(), Mode: mode}, perr); diff != "" {
			t.Errorf("PermissionError mismatch (-want +got):\n%s", diff)
		}
		want := fmt.Sprintf("%s: private key is accessible by others (mode %04o)", s.Path(), mode)
		if diff := cmp.Diff(want, err.Error()); diff != "" {
			t.Errorf("message mismatch (-want +got):\n%s", diff)
		}
	}
	// Owner-only modes are fine, even read-only.
	if err := os.Chmod(s.Path(), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestLoadBrokenNewFileDoesNotFallBack(t *testing.T) {
	s := newStore(t)
	writeLegacy(t, s, bepSecretHex, bepPublicHex)
	writeFile(t, s.Path(), []byte("# public key: "+bepPublicHex+"\n"), 0o600)
	_, err := s.Load()
	if err == nil {
		t.Fatal("Load of a broken new file succeeded, want an error")
	}
	if err := containsAll(err.Error(), s.Path()+":"); err != nil {
		t.Error(err)
	}
}

func TestLoadPrefersNewStore(t *testing.T) {
	s := newStore(t)
	writeLegacy(t, s, bepSecretHex, bepPublicHex)
	pair, _, err := s.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pair, loaded); diff != "" {
		t.Errorf("loaded pair mismatch (-want +got):\n%s", diff)
	}
}

func TestSymlinkRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		// link creates the key path (as something that is not a regular
		// file) and returns it; load reads it.
		link func(t *testing.T, s *Store) string
		load func(s *Store) (*Pair, error)
		what string
	}{
		{"new key symlink to a private file", func(t *testing.T, s *Store) string {
			other := newStore(t)
			if _, _, err := other.Generate(false); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, other.Path(), s.Path())
			return s.Path()
		}, (*Store).Load, "a symbolic link"},
		{"new key dangling symlink", func(t *testing.T, s *Store) string {
			mustSymlink(t, filepath.Join(s.Dir, "nowhere"), s.Path())
			return s.Path()
		}, (*Store).Load, "a symbolic link"},
		{"new key is a folder", func(t *testing.T, s *Store) string {
			if err := os.MkdirAll(s.Path(), 0o700); err != nil {
				t.Fatal(err)
			}
			return s.Path()
		}, (*Store).Load, "a folder"},
		{"legacy key symlink", func(t *testing.T, s *Store) string {
			writeLegacy(t, s, bepSecretHex, bepPublicHex)
			key := filepath.Join(s.LegacyDir, "key")
			if err := os.Rename(key, key+".real"); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, key+".real", key)
			return key
		}, (*Store).LoadLegacy, "a symbolic link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if err := os.MkdirAll(s.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := tc.link(t, s)
			_, err := tc.load(s)
			if !errors.Is(err, ErrNotRegular) {
				t.Fatalf("error %v, want ErrNotRegular", err)
			}
			if err := containsAll(err.Error(), path, tc.what); err != nil {
				t.Error(err)
			}
		})
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestStoreWithoutLegacyDir: a container may set XDG_CONFIG_HOME alone, with no
// home folder. The store works there, without the original tool's files to fall
// back to.
func TestStoreWithoutLegacyDir(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "cfg", "grenache")}
	if _, err := s.Load(); !errors.Is(err, ErrNoKey) {
		t.Errorf("Load with no key and no home folder: %v, want ErrNoKey", err)
	}
	if _, _, err := s.Import(false); !errors.Is(err, ErrNoKey) {
		t.Errorf("Import with no home folder: %v, want ErrNoKey", err)
	}
	if _, _, err := s.Generate(false); err != nil {
		t.Errorf("Generate with no home folder: %v", err)
	}
	if _, err := s.Load(); err != nil {
		t.Errorf("Load after Generate: %v", err)
	}
}
