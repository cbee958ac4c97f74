package applets

import (
	"os"
	"strconv"
	"time"
)

// clockHookEnv, in the environment of an applet process the tests start, sets
// the clock of put's default sequence numbers to that many microseconds since
// 1970, as if the system clock said so. It exists in the test binary only:
// clockNow is time.Now in grenache itself.
const clockHookEnv = "GRENACHE_TEST_NOW_US"

func init() {
	v := os.Getenv(clockHookEnv)
	if v == "" {
		return
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		panic(clockHookEnv + "=" + v + ": not a number")
	}
	clockNow = func() time.Time { return time.UnixMicro(n) }
}
