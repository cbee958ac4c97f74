package applets

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"grenache/grape/grapetest"
	"grenache/keystore"
)

// The key tests run grenache-keygen and grenache-put as processes, as the
// fault tests do, and look at the key folder afterwards through the
// keystore package, which checks that a file holds a whole, matching pair.

// keyFolder returns $XDG_CONFIG_HOME/grenache of env.
func keyFolder(env []string) string {
	return filepath.Join(procEnvValue(env, "XDG_CONFIG_HOME"), "grenache")
}

// loadPair reads the pair in path (a key file or a backup) with the
// keystore's checks: a partial or mismatched pair fails to load.
func loadPair(t *testing.T, path string) *keystore.Pair {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := keystore.Parse(path, data)
	if err != nil {
		t.Fatalf("%s does not hold a whole pair: %v", path, err)
	}
	return p
}

// folderEntries lists dir, with backups' time stamps replaced by "*".
func folderEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, backupName.ReplaceAllString(e.Name(), "key.bak.*"))
	}
	return names
}

var backupName = regexp.MustCompile(`^key\.bak\.\d{8}T\d{6}Z(-\d+)?$`)

// racingKeygens runs n grenache-keygen processes with args at once.
func racingKeygens(t *testing.T, env []string, n int, args ...string) []procResult {
	t.Helper()
	path := procPath(t, "grenache-keygen")
	results := make([]procResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = spawnProc(path, env, "", processBound, args...)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return results
}

// TestKeysRace: keygen processes racing for an empty folder. Exactly one
// wins; the others fail with exit 1 and say a pair exists; the stored pair is
// whole and is the winner's.
func TestKeysRace(t *testing.T) {
	t.Parallel()
	for round := 0; round < 5; round++ {
		env := procEnv(t)
		results := racingKeygens(t, env, 4)
		var winner string
		for _, r := range results {
			switch r.code {
			case ExitOK:
				if winner != "" {
					t.Fatalf("round %d: two keygens both won", round)
				}
				winner = strings.TrimSpace(r.stdout)
			case ExitFailure:
				expectProc(t, "losing keygen", r, ExitFailure, `^grenache-keygen: error: a key pair already exists in `)
			default:
				t.Fatalf("round %d: keygen: %v", round, r)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: no keygen won", round)
		}
		dir := keyFolder(env)
		if got := hex.EncodeToString(loadPair(t, filepath.Join(dir, "key")).Public); got != winner {
			t.Errorf("round %d: stored public key %s, the winner printed %s", round, got, winner)
		}
		if diff := cmp.Diff([]string{"key"}, folderEntries(t, dir)); diff != "" {
			t.Errorf("round %d: key folder mismatch (-want +got):\n%s", round, diff)
		}
	}
}

// TestKeysRaceForce: keygen --force processes racing over an existing pair,
// each pausing between keeping its backup and installing its pair (where,
// without the folder's lock, they all backed up the same pair and renamed
// over each other, so that keys they printed were in no file). All succeed;
// every printed key, and the first pair, is the key or in a backup.
func TestKeysRaceForce(t *testing.T) {
	t.Parallel()
	for round := 0; round < 2; round++ {
		env := procEnv(t)
		first := runProc(t, env, "grenache-keygen")
		expectProc(t, "first keygen", first, ExitOK)
		results := racingKeygens(t, append(env, installHookEnv+"=delay=100ms"), 4, "--force")
		dir := keyFolder(env)
		found := map[string]string{}
		names, _ := os.ReadDir(dir)
		for _, e := range names {
			found[hex.EncodeToString(loadPair(t, filepath.Join(dir, e.Name())).Public)] = e.Name()
		}
		for i, r := range append(results, first) {
			expectProc(t, "keygen", r, ExitOK)
			if _, ok := found[strings.TrimSpace(r.stdout)]; !ok {
				t.Errorf("round %d: keygen %d printed %s, which is in no file of %v", round, i, strings.TrimSpace(r.stdout), found)
			}
		}
		want := []string{"key"}
		for range len(results) {
			want = append(want, "key.bak.*")
		}
		entries := folderEntries(t, dir)
		sort.Strings(entries)
		if diff := cmp.Diff(want, entries); diff != "" {
			t.Errorf("round %d: key folder mismatch (-want +got):\n%s", round, diff)
		}
	}
}

// TestKeysInterrupted: SIGINT or SIGTERM while keygen holds its new pair in a
// temporary file (a whole secret) and, with --force, a backup of the old one.
// keygen ends by that signal (a shell shows 130 or 143), prints nothing, and
// leaves the folder as it was: no temporary file, no backup, the old key
// byte for byte.
func TestKeysInterrupted(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, force := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v force=%v", sig, force), func(t *testing.T) {
				env := procEnv(t)
				key := filepath.Join(keyFolder(env), "key")
				var old []byte
				var args []string
				if force {
					procKeygen(t, env)
					old = readOrFail(t, key)
					args = []string{"--force"}
				}
				cmd := exec.Command(procPath(t, "grenache-keygen"), args...)
				cmd.Env = append(env, installHookEnv+"=hold")
				var stdout bytes.Buffer
				cmd.Stdout = &stdout
				pipe, err := cmd.StderrPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				killer := time.AfterFunc(processBound, func() { cmd.Process.Kill() })
				defer killer.Stop()
				stderr := bufio.NewReader(pipe)
				var tmp string
				for tmp == "" {
					line, err := stderr.ReadString('\n')
					if err != nil {
						t.Fatalf("keygen ended before holding: %v", err)
					}
					tmp, _ = strings.CutPrefix(strings.TrimSuffix(line, "\n"), "holding ")
				}
				if _, err := os.Stat(tmp); err != nil {
					t.Fatalf("the temporary file is not there while keygen holds: %v", err)
				}
				if force && len(folderEntries(t, keyFolder(env))) != 3 {
					t.Fatalf("while holding, the folder holds %v, want the key, the backup and the temporary file", folderEntries(t, keyFolder(env)))
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				rest, _ := io.ReadAll(stderr)
				cmd.Wait()
				ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
				if !ws.Signaled() || ws.Signal() != sig {
					t.Errorf("keygen ended with %v, want ended by %v; stderr: %s", cmd.ProcessState, sig, rest)
				}
				if stdout.Len() != 0 {
					t.Errorf("interrupted keygen printed %q", stdout.String())
				}
				if !force {
					if diff := cmp.Diff([]string(nil), folderEntries(t, keyFolder(env))); diff != "" {
						t.Errorf("key folder mismatch (-want +got):\n%s", diff)
					}
					return
				}
				if diff := cmp.Diff([]string{"key"}, folderEntries(t, keyFolder(env))); diff != "" {
					t.Errorf("key folder mismatch (-want +got):\n%s", diff)
				}
				if now := readOrFail(t, key); !bytes.Equal(old, now) {
					t.Errorf("the key file changed")
				}
			})
		}
	}
}

func readOrFail(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeysForceKeepsPrevious: --force keeps the previous file, byte for
// byte, under the name it prints, and put signs with the new pair.
func TestKeysForceKeepsPrevious(t *testing.T) {
	t.Parallel()
	srv := grapetest.NewServer()
	defer srv.Close()
	env := procEnv(t, "GRENACHE_GRAPE=127.0.0.1", "GRENACHE_PORT="+srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
	expectProc(t, "keygen", runProc(t, env, "grenache-keygen"), ExitOK)
	key := filepath.Join(keyFolder(env), "key")
	old, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	r := runProc(t, env, "grenache-keygen", "--force")
	expectProc(t, "keygen --force", r, ExitOK)
	m := regexp.MustCompile(`previous key pair kept as (.*)\n`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("keygen --force did not name the backup\n%v", r)
	}
	kept, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, kept) {
		t.Errorf("the backup %s is not the previous key file", m[1])
	}
	if info, err := os.Stat(m[1]); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("backup mode: %v %v, want 0600", info.Mode(), err)
	}
	newPub := strings.TrimSpace(r.stdout)
	if got := hex.EncodeToString(loadPair(t, key).Public); got != newPub {
		t.Errorf("stored public key %s, keygen --force printed %s", got, newPub)
	}
	put := runProc(t, env, "grenache-put", "-m", "-n", "1", "signed by the new pair")
	expectProc(t, "put", put, ExitOK)
	get := runProc(t, env, "grenache-get", "-r", strings.TrimSpace(put.stdout))
	expectProc(t, "get", get, ExitOK)
	if !strings.Contains(get.stdout, `"k":"`+newPub+`"`) {
		t.Errorf("the item is not signed by the new pair %s: %s", newPub, get.stdout)
	}
}

// TestKeysWriteFailure: the write of the new key file fails (a file size
// limit of 0 makes it fail with EFBIG, in a real process). keygen exits 1
// and says why; the old pair stays, byte for byte, and nothing else is left.
func TestKeysWriteFailure(t *testing.T) {
	t.Parallel()
	keygen := procPath(t, "grenache-keygen")
	limited := func(env []string, args ...string) procResult {
		t.Helper()
		// Standard error is a pipe, which the limit does not apply to.
		r, err := spawnProc("/bin/sh", env, "", processBound,
			append([]string{"-c", `ulimit -f 0 && exec "$0" "$@"`, keygen}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tooLarge := `^grenache-keygen: error: cannot write the key file: write .*/\.key\.tmp-\d+: file too large\n$`

	t.Run("no previous pair", func(t *testing.T) {
		env := procEnv(t)
		expectProc(t, "keygen", limited(env), ExitFailure, tooLarge)
		if diff := cmp.Diff([]string(nil), folderEntries(t, keyFolder(env))); diff != "" {
			t.Errorf("key folder mismatch (-want +got):\n%s", diff)
		}
		expectProc(t, "put without a pair", runProc(t, env, "grenache-put", "-m", "x"), ExitFailure, `error: no key pair found`)
	})
	for _, args := range [][]string{{"--force"}, nil} {
		t.Run("keygen "+strings.Join(args, " "), func(t *testing.T) {
			env := procEnv(t)
			expectProc(t, "keygen", runProc(t, env, "grenache-keygen"), ExitOK)
			key := filepath.Join(keyFolder(env), "key")
			old, err := os.ReadFile(key)
			if err != nil {
				t.Fatal(err)
			}
			expectProc(t, "keygen", limited(env, args...), ExitFailure, tooLarge)
			if now, err := os.ReadFile(key); err != nil || !bytes.Equal(old, now) {
				t.Errorf("the key file changed (%v)", err)
			}
			if diff := cmp.Diff([]string{"key"}, folderEntries(t, keyFolder(env))); diff != "" {
				t.Errorf("key folder mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// keyUser is who runs the applets in TestKeysFolders: nobody when the tests
// run as root, since root ignores permissions and a read-only folder would
// then prove nothing; else the current user.
type keyUser struct {
	cred     *syscall.Credential // nil: the current user
	uid, gid int
	base     string // a folder the user may enter, holding bin/ and one folder per case
	bin      string // grenache-keygen, grenache-put and grenache-get the user may run
}

func newKeyUser(t *testing.T) *keyUser {
	t.Helper()
	u := &keyUser{uid: os.Getuid(), gid: os.Getgid()}
	if os.Geteuid() == 0 {
		u.uid, u.gid = 65534, 65534 // nobody, nogroup
		u.cred = &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}
	}
	base, err := os.MkdirTemp("", "grenache-keys-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Give back the permissions a case took away, so that all can go.
		filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if d != nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
		if err := os.RemoveAll(base); err != nil {
			t.Error(err)
		}
	})
	u.base, u.bin = base, filepath.Join(base, "bin")
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(u.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// A copy of the test binary, with a name per applet, where the user can
	// run it (the folder TestMain made is private to us).
	src, err := os.Open(procPath(t, "grenache"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exe := filepath.Join(u.bin, "grenache")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"grenache-keygen", "grenache-put", "grenache-get"} {
		if err := os.Link(exe, filepath.Join(u.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// keyDirs are one case's folders, all owned by the case's user.
type keyDirs struct {
	t                        *testing.T
	u                        *keyUser
	env                      []string
	dir, config, folder, key string
	elsewhere                string // a folder outside the configuration folder
}

func (k *keyDirs) own(path string) {
	k.t.Helper()
	if err := os.Lchown(path, k.u.uid, k.u.gid); err != nil {
		k.t.Fatal(err)
	}
}

// mkdir makes path and any missing parent, owned by the user, and gives
// path mode.
func (k *keyDirs) mkdir(path string, mode fs.FileMode) {
	k.t.Helper()
	if _, err := os.Lstat(filepath.Dir(path)); err != nil {
		k.mkdir(filepath.Dir(path), 0o700)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		k.t.Fatal(err)
	}
	k.own(path)
	k.chmod(path, mode)
}

func (k *keyDirs) chmod(path string, mode fs.FileMode) {
	k.t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		k.t.Fatal(err)
	}
}

func (k *keyDirs) symlink(target, link string) {
	k.t.Helper()
	if err := os.Symlink(target, link); err != nil {
		k.t.Fatal(err)
	}
	k.own(link)
}

// run runs an applet as the case's user.
func (k *keyDirs) run(name string, args ...string) procResult {
	k.t.Helper()
	r, err := spawnProcAs(k.u.cred, filepath.Join(k.u.bin, name), k.env, "", processBound, args...)
	if err != nil {
		k.t.Fatal(err)
	}
	return r
}

// keygen gives the case's user a key pair in configuration folder config.
func (k *keyDirs) keygen(config string) {
	k.t.Helper()
	env := append(append([]string{}, k.env...), "XDG_CONFIG_HOME="+config)
	r, err := spawnProcAs(k.u.cred, filepath.Join(k.u.bin, "grenache-keygen"), env, "", processBound)
	if err != nil {
		k.t.Fatal(err)
	}
	if r.code != 0 {
		k.t.Fatalf("keygen in %s: %v", config, r)
	}
}

// keyStep is one applet run of a case and what it must give.
type keyStep struct {
	args   []string
	code   int
	stderr []string
}

// TestKeysFolders: a configuration folder that is missing, read-only, not a
// folder, or has odd permissions, and key files that are links or too
// open. Each gives a clear error, or a documented, safe behaviour.
func TestKeysFolders(t *testing.T) {
	u := newKeyUser(t)
	srv := grapetest.NewServer()
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]

	put := []string{"grenache-put", "-m", "-n", "1", "hello"}
	keygen := []string{"grenache-keygen"}
	force := []string{"grenache-keygen", "--force"}
	cases := []struct {
		name  string
		setup func(k *keyDirs)
		steps []keyStep
		check func(k *keyDirs)
	}{{
		name: "missing configuration folder is created private",
		steps: []keyStep{
			{keygen, ExitOK, []string{`keypair generated successfully in .*/config/grenache/key\n`}},
			{put, ExitOK, nil},
		},
		check: func(k *keyDirs) {
			for path, mode := range map[string]fs.FileMode{k.folder: fs.ModeDir | 0o700, k.key: 0o600} {
				if info, err := os.Stat(path); err != nil || info.Mode() != mode {
					k.t.Errorf("%s: mode %v (%v), want %v", path, info.Mode(), err, mode)
				}
			}
		},
	}, {
		name:  "configuration path is a file",
		setup: func(k *keyDirs) { os.WriteFile(k.config, []byte("not a folder"), 0o600); k.own(k.config) },
		steps: []keyStep{
			{keygen, ExitFailure, []string{`^grenache-keygen: error: cannot create the key folder: mkdir .*/config: not a directory\n$`}},
			{put, ExitFailure, []string{`^grenache-put: error: .*/config/grenache/key: not a directory\n$`}},
		},
	}, {
		name:  "read-only configuration folder",
		setup: func(k *keyDirs) { k.mkdir(k.config, 0o500) },
		steps: []keyStep{
			{keygen, ExitFailure, []string{`^grenache-keygen: error: cannot create the key folder: mkdir .*/config/grenache: permission denied\n$`}},
			{put, ExitFailure, []string{`^grenache-put: error: no key pair found at .*/config/grenache/key\ngrenache-put: hint: create one with grenache-keygen\n$`}},
		},
	}, {
		name:  "read-only key folder without a pair",
		setup: func(k *keyDirs) { k.mkdir(k.folder, 0o500) },
		steps: []keyStep{
			{keygen, ExitFailure, []string{`^grenache-keygen: error: cannot write the key file: open .*/config/grenache/\.key\.tmp-\d+: permission denied\n$`}},
		},
		check: func(k *keyDirs) {
			if diff := cmp.Diff([]string(nil), folderEntries(k.t, k.folder)); diff != "" {
				k.t.Errorf("key folder mismatch (-want +got):\n%s", diff)
			}
		},
	}, {
		name:  "read-only key folder with a pair: it signs, it is not replaced",
		setup: func(k *keyDirs) { k.keygen(k.config); k.chmod(k.folder, 0o500) },
		steps: []keyStep{
			{force, ExitFailure, []string{`^grenache-keygen: error: cannot write the key file: open .*: permission denied\n$`}},
			{put, ExitOK, nil},
		},
		check: func(k *keyDirs) {
			if diff := cmp.Diff([]string{"key"}, folderEntries(k.t, k.folder)); diff != "" {
				k.t.Errorf("key folder mismatch (-want +got):\n%s", diff)
			}
		},
	}, {
		name:  "key folder without its owner's permissions",
		setup: func(k *keyDirs) { k.keygen(k.config); k.chmod(k.folder, 0o000) },
		steps: []keyStep{
			{put, ExitFailure, []string{`^grenache-put: error: .*/config/grenache/key: permission denied\n$`}},
			{force, ExitFailure, []string{`^grenache-keygen: error: cannot write the key file: open .*: permission denied\n$`}},
		},
	}, {
		name:  "key folder open to others is left as it is",
		setup: func(k *keyDirs) { k.keygen(k.config); k.chmod(k.folder, 0o777) },
		steps: []keyStep{
			{put, ExitOK, nil},
			{force, ExitOK, []string{`previous key pair kept as `}},
			{put, ExitOK, nil},
		},
		check: func(k *keyDirs) {
			if info, err := os.Stat(k.key); err != nil || info.Mode().Perm() != 0o600 {
				k.t.Errorf("new key file mode %v (%v), want 0600", info.Mode(), err)
			}
		},
	}, {
		name:  "key file readable by others is refused",
		setup: func(k *keyDirs) { k.keygen(k.config); k.chmod(k.key, 0o644) },
		steps: []keyStep{
			{put, ExitFailure, []string{`^grenache-put: error: .*/config/grenache/key: private key is accessible by others \(mode 0644\)\n`, `\ngrenache-put: hint: make it private: chmod 600 .*/config/grenache/key\n$`}},
		},
	}, {
		name:  "key file its owner cannot read",
		setup: func(k *keyDirs) { k.keygen(k.config); k.chmod(k.key, 0o200) },
		steps: []keyStep{
			{put, ExitFailure, []string{`^grenache-put: error: open .*/config/grenache/key: permission denied\n$`}},
		},
	}, {
		name: "key file is a link to a pair elsewhere: refused, and --force replaces the link, not its target",
		setup: func(k *keyDirs) {
			k.keygen(k.elsewhere)
			k.mkdir(k.folder, 0o700)
			k.symlink(filepath.Join(k.elsewhere, "grenache", "key"), k.key)
		},
		steps: []keyStep{
			{put, ExitFailure, []string{`^grenache-put: error: .*/config/grenache/key: private key path is not a regular file: it is a symbolic link \(keep the key in a regular file\)\n$`}},
			{keygen, ExitFailure, []string{`error: .*/config/grenache/key is a symbolic link, not a key file: nothing was written\n`, `hint: .*--force keeps the link as the backup`}},
			{force, ExitOK, []string{`previous key pair kept as .*/config/grenache/key\.bak\.`}},
			{put, ExitOK, nil},
		},
		check: func(k *keyDirs) {
			if info, err := os.Lstat(k.key); err != nil || !info.Mode().IsRegular() {
				k.t.Errorf("after --force the key is %v (%v), want a regular file", info.Mode(), err)
			}
			loadPair(k.t, filepath.Join(k.elsewhere, "grenache", "key"))
		},
	}, {
		name: "key file is a dangling link",
		setup: func(k *keyDirs) {
			k.mkdir(k.folder, 0o700)
			k.symlink(filepath.Join(k.elsewhere, "nothing"), k.key)
		},
		steps: []keyStep{
			{put, ExitFailure, []string{`error: .*/config/grenache/key: private key path is not a regular file: it is a symbolic link`}},
			{keygen, ExitFailure, []string{`error: .*/config/grenache/key is a symbolic link, not a key file`}},
			{force, ExitOK, nil},
			{put, ExitOK, nil},
		},
	}, {
		name: "key file is a folder",
		setup: func(k *keyDirs) {
			k.mkdir(k.key, 0o700)
		},
		steps: []keyStep{
			{put, ExitFailure, []string{`error: .*/config/grenache/key: private key path is not a regular file: it is a folder`}},
			{keygen, ExitFailure, []string{`error: .*/config/grenache/key is a folder, not a key file: nothing was written\n`}},
			{force, ExitFailure, []string{`error: cannot keep the previous key: link .*: operation not permitted`}},
		},
	}, {
		name: "key folder is a link to a folder elsewhere: followed",
		setup: func(k *keyDirs) {
			k.mkdir(k.config, 0o700)
			k.mkdir(filepath.Join(k.elsewhere, "grenache"), 0o700)
			k.symlink(filepath.Join(k.elsewhere, "grenache"), k.folder)
		},
		steps: []keyStep{
			{keygen, ExitOK, nil},
			{put, ExitOK, nil},
		},
		check: func(k *keyDirs) {
			loadPair(k.t, filepath.Join(k.elsewhere, "grenache", "key"))
		},
	}}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := &keyDirs{t: t, u: u, dir: filepath.Join(u.base, strconv.Itoa(i))}
			k.config = filepath.Join(k.dir, "config")
			k.folder = filepath.Join(k.config, "grenache")
			k.key = filepath.Join(k.folder, "key")
			k.elsewhere = filepath.Join(k.dir, "elsewhere")
			k.env = procEnv(t, "HOME="+filepath.Join(k.dir, "home"), "XDG_CONFIG_HOME="+k.config,
				"GRENACHE_GRAPE=127.0.0.1", "GRENACHE_PORT="+port)
			k.mkdir(k.dir, 0o755)
			k.mkdir(filepath.Join(k.dir, "home"), 0o700)
			k.mkdir(k.elsewhere, 0o700)
			if tc.setup != nil {
				tc.setup(k)
			}
			for _, s := range tc.steps {
				r := k.run(s.args[0], s.args[1:]...)
				expectProc(t, strings.Join(s.args, " "), r, s.code, s.stderr...)
			}
			if tc.check != nil {
				tc.check(k)
			}
		})
	}
}

// TestKeysNoAbsoluteFolder: a relative XDG_CONFIG_HOME is ignored (the XDG
// specification) and a relative or missing HOME gives no folder: with no
// absolute folder from the environment, keygen writes nothing anywhere (it
// used to write /.config/grenache/key, or under the working folder) and says
// what to set. A relative XDG_CONFIG_HOME with an absolute HOME uses
// $HOME/.config.
func TestKeysNoAbsoluteFolder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ config, home, want string }{
		{"cfg", "", `^grenache-keygen: error: no absolute folder for the key pair \(XDG_CONFIG_HOME "cfg" is relative, HOME is not set\): set XDG_CONFIG_HOME or HOME to an absolute path\n$`},
		{"", "home", `\(XDG_CONFIG_HOME is not set, HOME "home" is relative\): set XDG_CONFIG_HOME or HOME to an absolute path\n$`},
		{"cfg", "home", `\(XDG_CONFIG_HOME "cfg" is relative, HOME "home" is relative\)`},
		{"", "", `\(XDG_CONFIG_HOME is not set, HOME is not set\)`},
	} {
		env := procEnv(t)
		env = slices.DeleteFunc(env, func(kv string) bool {
			return strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=")
		})
		if tc.config != "" {
			env = append(env, "XDG_CONFIG_HOME="+tc.config)
		}
		if tc.home != "" {
			env = append(env, "HOME="+tc.home)
		}
		cwd := t.TempDir()
		for _, args := range [][]string{{"grenache-keygen"}, {"grenache-keygen", "--force"}, {"grenache-put", "-m", "x"}} {
			r, err := spawnProcIn(cwd, procPath(t, args[0]), env, args[1:]...)
			if err != nil {
				t.Fatal(err)
			}
			expectProc(t, fmt.Sprintf("XDG_CONFIG_HOME=%q HOME=%q %s", tc.config, tc.home, strings.Join(args, " ")), r, ExitFailure,
				strings.Replace(tc.want, "grenache-keygen", args[0], 1))
		}
		if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
			t.Errorf("XDG_CONFIG_HOME=%q HOME=%q: keygen wrote in the working folder: %v", tc.config, tc.home, entries)
		}
	}
	if _, err := os.Lstat("/.config/grenache/key"); err == nil {
		t.Errorf("/.config/grenache/key exists")
	}

	home := t.TempDir()
	env := append(procEnv(t), "XDG_CONFIG_HOME=cfg", "HOME="+home)
	cwd := t.TempDir()
	r, err := spawnProcIn(cwd, procPath(t, "grenache-keygen"), env)
	if err != nil {
		t.Fatal(err)
	}
	expectProc(t, "keygen with a relative XDG_CONFIG_HOME", r, ExitOK, `generated successfully in `+regexp.QuoteMeta(filepath.Join(home, ".config", "grenache", "key"))+`\n`)
	loadPair(t, filepath.Join(home, ".config", "grenache", "key"))
}

// spawnProcIn is spawnProc in the working folder dir.
func spawnProcIn(dir, path string, env []string, args ...string) (procResult, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	timer := time.AfterFunc(processBound, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Run()
	r := procResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if r.code < 0 {
		return r, fmt.Errorf("%s %q: %v\n%v", filepath.Base(path), args, err, r)
	}
	return r, nil
}

// TestKeysLegacyPubNotRegular: the original's key.pub as a named pipe made
// put -m and keygen --import wait forever for a writer. Both refuse it at
// once, naming the file.
func TestKeysLegacyPubNotRegular(t *testing.T) {
	t.Parallel()
	env := procEnv(t)
	legacy := filepath.Join(procEnvValue(env, "HOME"), ".grenache-cli")
	if err := os.MkdirAll(legacy, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(legacy, "key"), []byte(strings.Repeat("00", 64)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(legacy, "key.pub"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := `error: ` + regexp.QuoteMeta(filepath.Join(legacy, "key.pub")) + `: not a regular file: it is a named pipe \(keep the key in a regular file\)\n$`
	expectProc(t, "put -m", runProc(t, env, "grenache-put", "-m", "-n", "1", "x"), ExitFailure, want)
	expectProc(t, "keygen --import", runProc(t, env, "grenache-keygen", "--import"), ExitFailure, want)
	expectProc(t, "keygen --import --force", runProc(t, env, "grenache-keygen", "--import", "--force"), ExitFailure, want)
	if entries, _ := os.ReadDir(keyFolder(env)); len(entries) != 0 {
		t.Errorf("the key folder holds %v", entries)
	}
}
