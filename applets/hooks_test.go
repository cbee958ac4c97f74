package applets

import (
	"fmt"
	"os"
	"strings"
	"time"

	"grenache/keystore"
)

// installHookEnv, in the environment of an applet process the tests start,
// makes keygen pause just before it puts its new key file in place, with
// the key folder locked and the temporary file written:
//
//	hold      print "holding <temporary file>" on stderr, then wait (for a signal)
//	delay=D   wait D, then go on
//
// It exists in the test binary only: storeHook is nil in grenache itself.
const installHookEnv = "GRENACHE_TEST_INSTALL"

func init() {
	v := os.Getenv(installHookEnv)
	var pause func(tmp string)
	switch {
	case v == "hold":
		pause = func(tmp string) {
			fmt.Fprintf(os.Stderr, "holding %s\n", tmp)
			time.Sleep(processBound)
		}
	case strings.HasPrefix(v, "delay="):
		d, err := time.ParseDuration(strings.TrimPrefix(v, "delay="))
		if err != nil {
			panic(err)
		}
		pause = func(string) { time.Sleep(d) }
	case v != "":
		panic(installHookEnv + "=" + v + ": unknown")
	}
	if pause != nil {
		storeHook = func(s *keystore.Store) {
			s.BeforeInstall = func(tmp string) error { pause(tmp); return nil }
		}
	}
}
