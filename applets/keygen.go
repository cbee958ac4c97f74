package applets

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"grenache/keystore"
)

var keygenApplet = &applet{
	name:  "keygen",
	usage: "create the key pair that signs your mutable items",
	about: "Writes a new ed25519 key pair to the grenache folder of your configuration directory\n" +
		"(" + "$XDG_CONFIG_HOME/grenache/key" + ") and prints its public key. An existing pair is never\n" +
		"replaced without --force, and --force keeps it as a backup beside the new one.\n" +
		"--import copies the original grenache-cli's pair (~/.grenache-cli/key) into that folder.\n" +
		"--show prints the public key of the existing pair, the one put signs with.\n" +
		"--name NAME makes a named pair instead, key.NAME beside key, which put --key-name NAME\n" +
		"signs with; --list prints every pair (\"default\" is key, \"legacy\" the original's).",
	flags: func() []cli.Flag {
		return append([]cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "replace an existing pair (the old one is kept as a backup)"},
			&cli.BoolFlag{Name: "import", Usage: "copy the original grenache-cli's key pair instead of creating one"},
			&cli.BoolFlag{Name: flagShow, Usage: "print the public key of the existing pair; create nothing"},
		}, keygenNameFlags()...)
	},
	exitCodes: "exit codes: 0 success, 1 failure (a pair exists already, or the key folder or files\n" +
		"cannot be read or written), 2 invalid usage.\n",
	run: runKeygen,
}

func runKeygen(r *runCtx) error {
	if r.NArg() > 0 {
		return usagef("keygen takes no arguments (got %q)", r.Args().First())
	}
	if r.Bool(flagShow) {
		return keygenShow(r)
	}
	if r.Bool(flagList) {
		return listKeys(r)
	}
	store, err := r.keyStore()
	if err != nil {
		return err
	}
	if storeHook != nil {
		storeHook(store)
	}
	var pair *keystore.Pair
	var backup string
	// SIGINT or SIGTERM while the pair is written: no temporary file (a whole
	// secret) or half-made backup stays, and the process ends by the signal.
	stop := onInterrupt(keystore.Interrupt)
	if r.Bool("import") {
		pair, backup, err = store.Import(r.Bool("force"))
	} else {
		pair, backup, err = store.Generate(r.Bool("force"))
	}
	stop()
	if errors.Is(err, keystore.ErrExists) {
		if fi, lerr := os.Lstat(store.Path()); lerr == nil && !fi.Mode().IsRegular() {
			what, hint := "not a regular file", "grenache keeps its key pair in a regular file: move that away"
			switch {
			case fi.Mode()&os.ModeSymlink != 0:
				what, hint = "a symbolic link", hint+", or --force keeps the link as the backup"
			case fi.IsDir():
				what = "a folder"
			}
			return withCode(ExitFailure, fmt.Errorf("%s is %s, not a key file: nothing was written", store.Path(), what), hint)
		}
		return withCode(ExitFailure, fmt.Errorf("a key pair already exists in %s", store.Path()),
			"it signs the mutable items you stored: --force replaces it and keeps it as a backup")
	}
	if errors.Is(err, keystore.ErrNoKey) && r.Bool("import") {
		return withHints(err, "grenache-keygen without --import creates a new pair")
	}
	if err != nil {
		return keyError(err)
	}
	if backup != "" {
		fmt.Fprintf(r.stderr, "%s: previous key pair kept as %s\n", r.prog, backup)
	}
	if r.Bool("import") {
		fmt.Fprintf(r.stderr, "%s: key pair imported to %s\n", r.prog, pair.Path)
	} else {
		fmt.Fprintf(r.stderr, "%s: keypair generated successfully in %s\n", r.prog, pair.Path)
	}
	if _, err := fmt.Fprintln(r.stdout, hex.EncodeToString(pair.Public)); err != nil {
		return withHints(err, fmt.Sprintf("the pair is stored all the same: its public key is on the '# public key:' line of %s", pair.Path))
	}
	return nil
}

// storeHook, when set, may change the store keygen writes to. Tests set it
// (in the test binary only) to pause or slow an install; it is nil otherwise.
var storeHook func(*keystore.Store)

// keyError adds the hint that fixes a key problem.
func keyError(err error) error {
	var pe *keystore.PermissionError
	switch {
	case errors.As(err, &pe):
		return withHints(err, "make it private: chmod 600 "+pe.Path)
	case errors.Is(err, keystore.ErrNoKey):
		// Load signs with the original tool's pair when its files exist, so
		// --import cannot help here.
		return withHints(err, "create one with grenache-keygen")
	}
	return err
}
