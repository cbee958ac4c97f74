package applets

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"grenache/grape/grapetest"
)

// fullWriter fails every write as a full disk does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestOutputWriteError: every applet, and the binary's own output, fails
// with exit 1 and says so when its standard output cannot be written.
func TestOutputWriteError(t *testing.T) {
	srv := grapetest.NewServer()
	defer srv.Close()
	useKeyDirs(t)
	port := portOf(t, srv.URL)
	run := func(w interface{ Write([]byte) (int, error) }, stdin string, args ...string) (int, string) {
		var errb bytes.Buffer
		code := Main(append([]string{"grenache"}, args...), strings.NewReader(stdin), w, &errb)
		return code, errb.String()
	}
	var out bytes.Buffer
	if code, stderr := run(&out, "", "keygen"); code != 0 {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	net := []string{"-g", "127.0.0.1", "-p", port}
	out.Reset()
	if code, stderr := run(&out, "", append([]string{"put", "-m", "-n", "1"}, append(net, "stored")...)...); code != 0 {
		t.Fatalf("put: %d %s", code, stderr)
	}
	hash := strings.TrimSpace(out.String())
	config := os.Getenv("XDG_CONFIG_HOME")

	const full = "cannot write to standard output: no space left on device\n"
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string // stderr, exactly, after the first line's "PROG: error: "
	}{
		{"", append([]string{"put"}, append(net, "hello")...), full},
		{"", append([]string{"put", "-m", "-n", "2"}, append(net, "hello")...), full},
		{"", append([]string{"get", hash}, net...), full},
		{"", append([]string{"get", "-i", hash}, net...), full},
		{"", append([]string{"get", "-r", hash}, net...), full},
		{"\"x\"\n", append([]string{"put", "--batch"}, net...), "writing the results: " + full},
		{hash + "\n", append([]string{"get", "--batch"}, net...), "writing the results: " + full},
		{"", []string{"keygen", "--force"}, full + "grenache keygen: hint: the pair is stored all the same: its public key is on the '# public key:' line of " +
			filepath.Join(config, "grenache", "key") + "\n"},
		{"", []string{"put", "--help"}, full},
		{"", []string{"keygen", "--version"}, full},
		{"", []string{"help", "get"}, full},
	} {
		code, stderr := run(fullWriter{}, tc.stdin, tc.args...)
		prog := "grenache " + tc.args[0]
		if tc.args[0] == "help" {
			prog = "grenache " + tc.args[1]
		}
		// keygen says where it put the pair before it prints the public key.
		stderr = regexp.MustCompile(`(?m)^grenache keygen: (keypair generated|previous key pair).*\n`).ReplaceAllString(stderr, "")
		if code != ExitFailure || stderr != prog+": error: "+tc.want {
			t.Errorf("%q with a full disk: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", tc.args, code, stderr, prog+": error: "+tc.want)
		}
	}
	for _, args := range [][]string{nil, {"--version"}, {"help"}} {
		code, stderr := run(fullWriter{}, "", args...)
		if code != ExitFailure || stderr != "grenache: error: "+full {
			t.Errorf("grenache %q with a full disk: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestOutputDevFull: the same, as a user's shell sees it, with standard
// output redirected to /dev/full: put and keygen used to exit 0.
func TestOutputDevFull(t *testing.T) {
	t.Parallel()
	srv := grapetest.NewServer()
	defer srv.Close()
	env := procEnv(t, "GRENACHE_GRAPE=127.0.0.1", "GRENACHE_PORT="+portOf(t, srv.URL))
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	for _, args := range [][]string{{"grenache-keygen"}, {"grenache-put", "hello"}, {"grenache-put", "-m", "hello"}, {"grenache-put", "--version"}} {
		cmd := exec.Command(procPath(t, args[0]), args[1:]...)
		cmd.Env, cmd.Stdout = env, full
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if code != ExitFailure || !strings.Contains(stderr.String(), args[0]+": error: cannot write to standard output: write /dev/stdout: no space left on device\n") {
			t.Errorf("%q > /dev/full: exit %d (%v), stderr %q; want exit 1 and the error", args, code, err, stderr.String())
		}
	}
}
