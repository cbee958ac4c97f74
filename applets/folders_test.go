package applets

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/adrg/xdg"
	"github.com/google/go-cmp/cmp"
)

// TestUserFolders: a relative XDG_CONFIG_HOME or XDG_STATE_HOME is ignored (as
// the XDG base directory specification says) for the folder under HOME; a
// relative or missing HOME gives none of its own, and no folder for the
// original tool's files; with neither absolute there is no folder, and the
// error says what to set (never /.config, which adrg/xdg builds without HOME).
func TestUserFolders(t *testing.T) {
	t.Cleanup(xdg.Reload)
	abs := t.TempDir()
	type want struct{ config, state, home, noConfig, noState string }
	for _, c := range []struct {
		config, stateHome, home string
		want                    want
	}{
		{abs + "/c", abs + "/s", abs + "/h", want{config: abs + "/c/grenache", state: abs + "/s/grenache", home: abs + "/h"}},
		{"", "", abs + "/h", want{config: abs + "/h/.config/grenache", state: abs + "/h/.local/state/grenache", home: abs + "/h"}},
		{"cfg", "relative/state", abs + "/h", want{config: abs + "/h/.config/grenache", state: abs + "/h/.local/state/grenache", home: abs + "/h"}},
		{abs + "/c", abs + "/s", "", want{config: abs + "/c/grenache", state: abs + "/s/grenache"}},
		{abs + "/c", "", "relative/home", want{config: abs + "/c/grenache",
			noState: `^no absolute folder for the state \(XDG_STATE_HOME is not set, HOME "relative/home" is relative\): set XDG_STATE_HOME or HOME to an absolute path$`}},
		{"", "", "", want{
			noConfig: `^no absolute folder for the key pair \(XDG_CONFIG_HOME is not set, HOME is not set\): set XDG_CONFIG_HOME or HOME to an absolute path$`,
			noState:  `^no absolute folder for the state \(XDG_STATE_HOME is not set, HOME is not set\): set XDG_STATE_HOME or HOME to an absolute path$`}},
		{"cfg", "", "", want{noConfig: `\(XDG_CONFIG_HOME "cfg" is relative, HOME is not set\)`, noState: `XDG_STATE_HOME is not set`}},
		{"./cfg", "~/s", "../home", want{noConfig: `\(XDG_CONFIG_HOME "\./cfg" is relative, HOME "\.\./home" is relative\)`, noState: `XDG_STATE_HOME "~/s" is relative`}},
	} {
		for name, v := range map[string]string{"XDG_CONFIG_HOME": c.config, "XDG_STATE_HOME": c.stateHome, "HOME": c.home} {
			t.Setenv(name, v)
			if v == "" {
				os.Unsetenv(name)
			}
		}
		xdg.Reload()
		f := userFolders()
		got := want{config: f.config, state: f.state, home: f.home}
		for _, e := range []struct {
			err  error
			re   string
			into *string
		}{{f.noConfig, c.want.noConfig, &got.noConfig}, {f.noState, c.want.noState, &got.noState}} {
			if e.err != nil && e.re != "" && regexp.MustCompile(e.re).MatchString(e.err.Error()) {
				*e.into = e.re
			} else if e.err != nil {
				*e.into = e.err.Error()
			}
		}
		if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(want{})); diff != "" {
			t.Errorf("XDG_CONFIG_HOME=%q XDG_STATE_HOME=%q HOME=%q: folders mismatch (-want +got):\n%s", c.config, c.stateHome, c.home, diff)
		}
		if f.home != "" {
			if s, err := f.keyStore(); err != nil || s.LegacyDir != filepath.Join(f.home, ".grenache-cli") || s.Dir != f.config {
				t.Errorf("keyStore: %+v, %v", s, err)
			}
		}
	}
}
