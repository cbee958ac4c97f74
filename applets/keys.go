package applets

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"grenache/keystore"
)

// Names of the options that choose a key pair, and the environment variable.
const (
	flagName    = "name"     // keygen: the pair to create
	flagList    = "list"     // keygen: list the pairs
	flagKeyName = "key-name" // the applets that sign: the pair to sign with
	envKeyName  = "GRENACHE_KEY_NAME"
)

// keyNameFlag is the option of every applet that signs. It is read by
// keyStore, not by urfave, so that an empty GRENACHE_KEY_NAME counts as unset.
func keyNameFlag() cli.Flag {
	return &cli.StringFlag{Name: flagKeyName, Aliases: []string{"k"}, EnvVars: []string{envKeyName},
		Usage: "sign with the key pair named `NAME` (grenache-keygen --list shows them; default: the default pair)"}
}

// keygenNameFlags are keygen's options for named pairs.
func keygenNameFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagName, Usage: "create (or with --import, fill) the pair named `NAME` instead of the default one"},
		&cli.BoolFlag{Name: flagList, Aliases: []string{"l"}, Usage: "print each stored pair as NAME PUBLIC-KEY, sorted by name, and exit"},
	}
}

// keyStore is the user's key store selecting the pair that the command line
// names: keygen's --name, or --key-name (else GRENACHE_KEY_NAME, when set and
// not empty) for an applet that signs. With none, the default pair.
func (r *runCtx) keyStore() (*keystore.Store, error) {
	store, err := r.dirs.keyStore()
	if err != nil {
		return nil, err
	}
	var name, what string
	switch {
	case slices.Contains(r.order, flagName):
		name, what = r.String(flagName), "--name"
	case slices.Contains(r.order, flagKeyName):
		name, what = r.String(flagKeyName), "--key-name"
	case r.hasFlag(flagKeyName) && os.Getenv(envKeyName) != "":
		name, what = os.Getenv(envKeyName), envKeyName
	default:
		return store, nil
	}
	if err := keystore.CheckName(name); err != nil {
		return nil, usagef("%s: %v", what, err)
	}
	if what == "--name" && name == keystore.LegacyName {
		return nil, withCode(ExitUsage, fmt.Errorf("--name %s: %w", name, keystore.ErrLegacyReadOnly),
			"'grenache-keygen --import --name NAME' copies it to a pair of grenache's own named NAME")
	}
	store.Name = name
	return store, nil
}

// hasFlag tells whether the running applet has the option name.
func (r *runCtx) hasFlag(name string) bool {
	for _, f := range r.App.Flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// keyNameOnlyMutable refuses --key-name for an item that is not signed. The
// variable may stay set: it applies only when something is signed.
func (r *runCtx) keyNameOnlyMutable() error {
	if slices.Contains(r.order, flagKeyName) {
		return usagef("--%s applies to mutable items only: add --mutable", flagKeyName)
	}
	return nil
}

// listKeys is keygen --list: one line per stored pair, NAME PUBLIC-KEY,
// sorted by name. "default" is the file key; "legacy" the original tool's
// pair. A pair that cannot be read is reported on standard error, after the
// others are printed, and the exit code is then 1.
func listKeys(r *runCtx) error {
	for _, other := range []string{"force", "import", flagName} {
		if slices.Contains(r.order, other) {
			return usagef("--list takes no other option (got --%s)", other)
		}
	}
	store, err := r.dirs.keyStore()
	if err != nil {
		return err
	}
	list, err := store.List()
	if err != nil {
		return err
	}
	var broken []keystore.Entry
	for _, e := range list {
		if e.Err != nil {
			broken = append(broken, e)
			continue
		}
		fmt.Fprintf(r.stdout, "%s %s\n", e.Name, hex.EncodeToString(e.Pair.Public))
	}
	if len(broken) == 0 {
		return nil
	}
	for _, e := range broken[:len(broken)-1] {
		fmt.Fprintf(r.stderr, "%s: error: key pair %s: %v\n", r.prog, e.Name, e.Err)
	}
	last := broken[len(broken)-1]
	return keyError(fmt.Errorf("key pair %s: %w", last.Name, last.Err))
}

// keyLoadError is keyError for a pair that was chosen by name.
func keyLoadError(store *keystore.Store, err error) error {
	if errors.Is(err, keystore.ErrNoKey) && store.Name != "" && store.Name != keystore.DefaultName {
		return withHints(err, fmt.Sprintf("create it with 'grenache-keygen --name %s'; 'grenache-keygen --list' shows the pairs there are", store.Name))
	}
	return keyError(err)
}
