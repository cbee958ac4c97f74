package applets

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/adrg/xdg"

	"grenache/keystore"
)

// folders are where grenache keeps the user's files, resolved once by Main from
// the environment and handed to the applets.
type folders struct {
	config string // grenache's configuration folder, holding the key pair; "" when none
	state  string // grenache's state folder (see package state); "" when none
	home   string // the absolute home folder, where the original tool kept its keys; "" when none

	noConfig, noState error // why config or state is ""
}

// userFolders follows the XDG base directory spec through adrg/xdg, which
// ignores a relative XDG_CONFIG_HOME or XDG_STATE_HOME as the spec says. Its
// fallback builds on HOME, and on "/" when HOME is unset or relative: a key in
// /.config is nobody's, so a folder counts only when it comes from an absolute
// variable. adrg/xdg reads the environment once per process (xdg.Reload after
// changing it).
func userFolders() folders {
	var f folders
	home := os.Getenv("HOME")
	if filepath.IsAbs(home) {
		f.home = home
	}
	pick := func(name, dir, what string) (string, error) {
		v := os.Getenv(name)
		if (filepath.IsAbs(v) || f.home != "") && filepath.IsAbs(dir) {
			return filepath.Join(dir, "grenache"), nil
		}
		return "", fmt.Errorf("no absolute folder for %s (%s, %s): set %s or HOME to an absolute path",
			what, describeVar(name, v), describeVar("HOME", home), name)
	}
	f.config, f.noConfig = pick("XDG_CONFIG_HOME", xdg.ConfigHome, "the key pair")
	f.state, f.noState = pick("XDG_STATE_HOME", xdg.StateHome, "the state")
	return f
}

// describeVar says why an environment variable gives no folder.
func describeVar(name, value string) string {
	if value == "" {
		return name + " is not set"
	}
	return fmt.Sprintf("%s %q is relative", name, value)
}

// keyStore is the user's key pair store: grenache's own, and the original
// tool's files when there is a home folder.
func (f folders) keyStore() (*keystore.Store, error) {
	if f.config == "" {
		return nil, f.noConfig
	}
	s := &keystore.Store{Dir: f.config}
	if f.home != "" {
		s.LegacyDir = filepath.Join(f.home, ".grenache-cli")
	}
	return s, nil
}
