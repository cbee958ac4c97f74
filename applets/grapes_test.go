package applets

import (
	"net"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
)

// TestGrapeList: -g takes HOST[:PORT],...; a grape that cannot be connected to is
// skipped, errors name the grape that failed, and with none reachable the error names
// them all.
func TestGrapeList(t *testing.T) {
	t.Parallel()
	var connections atomic.Int32
	guard := faultServer(t, func(c net.Conn) { // takes the request, closes without answering
		connections.Add(1)
		c.Read(make([]byte, 4096))
		c.Close()
	})
	gp := strconv.Itoa(guard)
	at := "127.0.0.1:" + gp
	refused := "127.0.0.1:" + strconv.Itoa(closedPort(t, "127.0.0.1"))
	refused2 := "127.0.0.1:" + strconv.Itoa(closedPort(t, "127.0.0.1"))
	hanging := "127.0.0.1:" + strconv.Itoa(fullBacklog(t))
	closedHint := `grenache-(?:put|get): error: the grape at ` + regexp.QuoteMeta(at) + ` closed the connection without answering\n`
	env := procEnv(t)
	procKeygen(t, env)
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		reached bool
		pattern string
	}{
		// One HOST:PORT is that grape; -p does not apply to it.
		{"port in the host", nil, []string{"-g", at, "-p", "1"}, true, closedHint},
		{"refused first", nil, []string{"-g", refused + "," + at}, true, closedHint},
		{"GRENACHE_GRAPE", []string{"GRENACHE_GRAPE=" + refused + "," + at}, nil, true, closedHint},
		{"connect timeout first", nil, []string{"-g", hanging + "," + at}, true, closedHint},
		{"entry without a port takes -p", nil, []string{"-g", refused + ",127.0.0.1", "-p", gp}, true, closedHint},
		// An answer (here a closed connection after the request) is never retried.
		{"the grape reached is the answer", nil, []string{"-g", at + "," + refused}, true, closedHint},
		{"none reachable", nil, []string{"-g", refused + "," + refused2}, false,
			`error: cannot connect to any grape: ` + regexp.QuoteMeta(refused) + ` \(connection refused\), ` + regexp.QuoteMeta(refused2) + ` \(connection refused\)\n.*hint: is a grape running at any of them\?`},
		{"none reachable, one timing out", nil, []string{"-g", hanging + "," + refused}, false,
			`error: cannot connect to any grape: ` + regexp.QuoteMeta(hanging) + ` \(connect timeout\), ` + regexp.QuoteMeta(refused) + ` \(connection refused\)\n`},
		// With one grape, today's message.
		{"one refused", nil, []string{"-g", refused}, false,
			`error: cannot connect to a grape at ` + regexp.QuoteMeta(refused) + `: connection refused\n`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append([]string{}, env...), tc.env...)
			for _, cmd := range [][]string{
				{"grenache-put", "hello"},
				{"grenache-get", faultHash},
			} {
				before := connections.Load()
				args := append(append([]string{"--timeout", "3s", "--connect-timeout", "300ms"}, tc.args...), cmd[1:]...)
				r := runProc(t, env, cmd[0], args...)
				expectProc(t, cmd[0], r, ExitFailure, tc.pattern)
				if got := connections.Load() - before; (got == 1) != tc.reached {
					t.Errorf("%s: %d connections to the grape at %s, reached: %v", cmd[0], got, at, tc.reached)
				}
			}
		})
	}
}
