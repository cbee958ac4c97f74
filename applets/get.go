package applets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"grenache/bep44"
	"grenache/grape"
)

var getApplet = &applet{
	name:      "get",
	usage:     "fetch an item by its hash, verify it, and print it",
	argsUsage: "HASH | --key PUBKEY | --batch",
	about: "Fetches the item stored under HASH (40 hex digits) and prints its value, once it has\n" +
		"checked it: an immutable value must hash to HASH; a mutable item must be signed by the\n" +
		"key it carries, and that key and the salt must hash to HASH. An answer that fails is an\n" +
		"error and nothing is printed. A salted mutable item is found only with its --salt;\n" +
		"without --salt, get asks with the salt put remembered for HASH on this host, if any\n" +
		"(kept in $XDG_STATE_HOME/grenache/salt).\n" +
		"Of -v, -i, -w, -r and --json, the last one given wins.\n" +
		"A mutable item with a lower seq than the highest this user has seen or stored under\n" +
		"HASH (kept in $XDG_STATE_HOME/grenache/seq), or than --min-seq, is refused: exit 4.\n\n" +
		"With --batch, each line of standard input is a hash, or a JSON object {\"hash\": H, \"salt\": S,\n" +
		"\"seq\": N} where N is the least seq accepted (put --batch's output lines carry it);\n" +
		"each gets one JSON line on standard output, in input order: {\"hash\", \"v\", and for mutable\n" +
		"items \"k\", \"seq\"} or {\"hash\", \"error\", \"exit\"}; the exit code is the highest of the items'.",
	flags: func() []cli.Flag {
		return append(append(itemFlags(),
			&cli.StringFlag{Name: "salt", Aliases: []string{"s"}, Usage: "the `SALT` the mutable item was stored with"},
			&cli.BoolFlag{Name: "value", Aliases: []string{"v"}, Usage: "print the value (the default)"},
			&cli.BoolFlag{Name: "id", Aliases: []string{"i"}, Usage: "print the id of the node that answered"},
			&cli.BoolFlag{Name: "write", Aliases: []string{"w"}, Usage: "print the write token (nothing when the grape holds the item itself)"},
			&cli.BoolFlag{Name: "raw", Aliases: []string{"r"}, Usage: "print the grape's answer as compact JSON, as jq -c does, with only the fields checked"},
		), append(append(freshFlags(), batchFlags()...), getExtraFlags()...)...)
	},
	run: runGet,
}

func runGet(r *runCtx) error {
	f, err := r.freshness()
	if err != nil {
		return err
	}
	if r.Bool(flagBatch) {
		if r.IsSet(flagKey) {
			return usagef("--key reads one item: a batch line gives its hash")
		}
		salt, err := r.saltOption()
		if err != nil {
			return err
		}
		return r.getBatch(salt, f)
	}
	target, salt, remembered, err := r.getTarget(f)
	if err != nil {
		return err
	}
	gc, err := r.grapeOptions()
	if err != nil {
		return err
	}
	defer gc.close()
	ctx, cancel := gc.context(context.Background())
	defer cancel()
	ans, err := grape.Fetch(ctx, gc.transport, target, salt)
	if err != nil && remembered {
		return withHints(r.getError(gc, target, salt, err), f.rememberedSaltHint(salt))
	}
	if err != nil {
		return r.getError(gc, target, salt, err)
	}
	if err := f.check(target, &ans.Item, -1, ""); err != nil {
		return err
	}
	defer f.save()
	var out []byte
	switch r.lastOf("value", "value", "id", "write", "raw", flagJSON) {
	case flagJSON:
		return r.printGetJSON(target, ans)
	case "value":
		out = ans.Item.V
	case "id":
		out = []byte(ans.ID)
	case "write":
		if ans.Token == "" {
			return nil // null: the grape holds the item itself; the original printed nothing
		}
		out = []byte(ans.Token)
	case "raw":
		out = ans.Raw
	}
	_, err = r.stdout.Write(append(out, '\n'))
	return err
}

func (r *runCtx) getError(gc *grapeClient, target bep44.Target, salt []byte, err error) error {
	saltHint := "a salted mutable item is found and verified only with the salt it was stored with: --salt SALT"
	switch {
	case errors.Is(err, grape.ErrNotFound):
		hints := []string{"items expire about 2 hours after they were last stored"}
		if salt == nil {
			hints = append(hints, saltHint)
		}
		return withCode(ExitNotFound, fmt.Errorf("hash %s not found", target), hints...)
	case errors.Is(err, bep44.ErrTargetMismatch) && errors.Is(err, grape.ErrMutable):
		if salt == nil {
			return withHints(err, saltHint)
		}
		return withHints(err, "is the salt right? a mutable item's hash is the SHA-1 of its public key and salt")
	}
	return gc.explain(err)
}

// parseHash reads a hash given by the user: 40 hex digits, in either case.
func parseHash(s string) (bep44.Target, error) {
	t, err := bep44.ParseTarget(s)
	if err != nil {
		why := strings.TrimPrefix(err.Error(), bep44.ErrTargetSyntax.Error()+": ")
		return t, usagef("%q is not a hash: %s", s, why)
	}
	return t, nil
}
