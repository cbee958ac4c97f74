package applets

import (
	"encoding/hex"
	"fmt"
)

const flagShow = "show"

// keygenShow prints the public key of the pair put signs with, as keygen
// printed it when it made the pair: exit 1 with the usual hint when there is none.
func keygenShow(r *runCtx) error {
	for _, name := range []string{"force", "import"} {
		if r.Bool(name) {
			return usagef("--show prints the existing pair's public key: not with --%s", name)
		}
	}
	s, err := r.signer()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(r.stdout, hex.EncodeToString(s.PublicKey()))
	return err
}
