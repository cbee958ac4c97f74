package applets

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestRequestScripts runs testdata/request/*.txt, each against its own fake grape that
// answers /lookup only, and two fake workers, W1 and W2 (their HOST:PORT in $W1 and $W2;
// $DEAD is a loopback address where nothing listens). The grape knows the services:
// one: [W1]; svc: [W1, W2]; mixed: [W1, DEAD]; grapefail: a grape error; any other: none.
func TestRequestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/request",
		RequireExplicitExec: true,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"exits": cmdExits},
		Setup: func(env *testscript.Env) error {
			w1, w2 := fakeWorker("W1"), fakeWorker("W2")
			env.Defer(w1.Close)
			env.Defer(w2.Close)
			dead, err := deadAddr()
			if err != nil {
				return err
			}
			addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
			services := map[string]any{
				"one":       []string{addr(w1)},
				"svc":       []string{addr(w1), addr(w2)},
				"mixed":     []string{addr(w1), dead},
				"grapefail": "ERR_GRAPE_LOOKUP",
			}
			g := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var req struct {
					Data string `json:"data"`
				}
				if r.URL.Path != "/lookup" || json.NewDecoder(r.Body).Decode(&req) != nil {
					io.WriteString(w, `"ERR_REQ_NOTFOUND"`)
					return
				}
				answer, ok := services[req.Data]
				if !ok {
					answer = []string{}
				}
				json.NewEncoder(w).Encode(answer)
			}))
			env.Defer(g.Close)
			env.Setenv("W1", addr(w1))
			env.Setenv("W2", addr(w2))
			env.Setenv("DEAD", dead)
			env.Setenv("GRENACHE_GRAPE", "127.0.0.1")
			env.Setenv("GRENACHE_PORT", g.URL[strings.LastIndexByte(g.URL, ':')+1:])
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
			return nil
		},
	})
}

// deadAddr returns a loopback HOST:PORT where nothing listens (one just closed).
func deadAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// fakeWorker answers Grenache RPC as grenache-nodejs-http's server does: it inflates a
// request sent with grc-compress: gzip and deflates its answer then, and it never answers
// a body it cannot parse. Its payloads are {"action", "args"}:
//
//	echo: the args; whoami: the worker's name; compress: the grc-compress header;
//	text: args[0]; fail: the error args[0]; big: a string of args[0] x's;
//	never: no answer; badrid: an answer to another request.
//
// Another action is the error ERR_API_NO_HANDLER; a payload without an action is
// answered {"payload": payload}.
func fakeWorker(name string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		zip := strings.Contains(r.Header.Get("grc-compress"), "gzip")
		if zip {
			if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
				if b, err := io.ReadAll(zr); err == nil {
					body = b
				}
			}
		}
		var req []json.RawMessage
		if json.Unmarshal(body, &req) != nil || len(req) != 3 {
			<-r.Context().Done() // no answer at all
			return
		}
		rid := req[0]
		var p struct {
			Action *string           `json:"action"`
			Args   []json.RawMessage `json:"args"`
		}
		var errMsg, data any
		if json.Unmarshal(req[2], &p) != nil || p.Action == nil {
			data = map[string]json.RawMessage{"payload": req[2]}
		} else {
			arg := func(i int) json.RawMessage {
				if i < len(p.Args) {
					return p.Args[i]
				}
				return json.RawMessage("null")
			}
			switch *p.Action {
			case "echo":
				data = p.Args
			case "whoami":
				data = name
			case "compress":
				data = r.Header.Get("grc-compress")
			case "text":
				data = arg(0)
			case "fail":
				errMsg = arg(0)
			case "big":
				var n int
				json.Unmarshal(arg(0), &n)
				data = strings.Repeat("x", n)
			case "never":
				<-r.Context().Done()
				return
			case "badrid":
				rid = json.RawMessage(`"not-your-request"`)
			default:
				errMsg = "ERR_API_NO_HANDLER"
			}
		}
		var b bytes.Buffer // as JSON.stringify writes it: <, > and & as they are
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode([]any{rid, errMsg, data})
		out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
		if zip {
			zw := gzip.NewWriter(w)
			zw.Write(out)
			zw.Close()
			return
		}
		w.Write(out)
	}))
}
