package applets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	reTimeout = `error: no answer from the grape at 127\.0\.0\.1:\d+ within 500ms\n.*hint: a slow network may need a longer --timeout`
	reTooBig  = `error: the grape's answer is too large: over 65536 bytes \(HTTP 200\)`
	reNotJSON = `error: unexpected answer from the grape \(HTTP 200\): a get answer must be a JSON object, a JSON string or empty`
	reClosed  = `error: the grape at 127\.0\.0\.1:\d+ closed the connection without answering\n.*hint: it may have stopped or crashed`
)

// writeEndless writes chunk over and over, up to total bytes or until the client goes
// away, counting what it wrote.
func writeEndless(w io.Writer, chunk []byte, total int64, written *atomic.Int64, stop <-chan struct{}) {
	for written.Load() < total {
		select {
		case <-stop:
			return
		default:
		}
		n, err := w.Write(chunk)
		written.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// hugeAnswer answers with a body of hugeBody bytes: prefix, then fill repeated. With
// length, it announces the length; without, it is sent chunked.
func hugeAnswer(prefix string, fill byte, length bool, written *atomic.Int64) func(http.ResponseWriter, *http.Request, <-chan struct{}) {
	chunk := bytes.Repeat([]byte{fill}, 32<<10)
	return func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		if length {
			w.Header().Set("Content-Length", strconv.Itoa(hugeBody))
		}
		w.WriteHeader(200)
		n, _ := io.WriteString(w, prefix)
		written.Add(int64(n))
		writeEndless(w, chunk, hugeBody, written, stop)
	}
}

// wroteLittle checks that the server stopped writing well before the whole body: the
// client hung up once it had read its limit.
func wroteLittle(written *atomic.Int64) func(t *testing.T) {
	return func(t *testing.T) {
		// The kernel's socket buffers take some of it before the client stops.
		if n := written.Load(); n >= hugeBody/2 {
			t.Errorf("the server wrote %d bytes of %d: the client read on", n, hugeBody)
		}
	}
}

// trickle sends the grape's answer one byte a second, with its length announced.
func (e *hostileEnv) trickle(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
	a, err := e.forward(r)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	for _, b := range a.body {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-stop:
			return
		case <-r.Context().Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// neverAnswer answers nothing until the client goes away.
func neverAnswer(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
	select {
	case <-stop:
	case <-r.Context().Done():
	}
}

// headersThenHang sends the headers of a long answer, then nothing.
func headersThenHang(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
	w.Header().Set("Content-Length", "80")
	w.WriteHeader(200)
	w.(http.Flusher).Flush()
	neverAnswer(w, r, stop)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// gzipBomb is a small gzip stream of a hugeBody-byte get answer.
func gzipBomb() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	io.WriteString(zw, `{"v":"`)
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for i := 0; i < hugeBody>>20; i++ {
		zw.Write(chunk)
	}
	io.WriteString(zw, `"}`)
	zw.Close()
	return buf.Bytes()
}

// readRequest reads one HTTP request from c, so that the client sees its request taken.
func readRequest(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(hangBound))
	if req, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
		io.Copy(io.Discard, req.Body)
	}
	c.SetReadDeadline(time.Time{})
}

// rawAnswer reads the request and writes s as it is, then closes.
func rawAnswer(s string) func(net.Conn, <-chan struct{}) {
	return func(c net.Conn, stop <-chan struct{}) {
		readRequest(c)
		io.WriteString(c, s)
	}
}

// rawTrickle reads the request and writes s one byte a second.
func rawTrickle(s string) func(net.Conn, <-chan struct{}) {
	return func(c net.Conn, stop <-chan struct{}) {
		readRequest(c)
		for i := 0; i < len(s); i++ {
			if _, err := c.Write([]byte{s[i]}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// TestHostileTransport: answers that are too large, too slow, compressed, not HTTP or
// not there, for gets and puts.
func TestHostileTransport(t *testing.T) {
	e := newHostileEnv(t)
	getImm := []string{"get", e.imm}
	getMut := []string{"get", e.mut}
	putImm := []string{"put", immValue}
	putMut := []string{"put", "-m", mutValue}

	var lengthWritten, chunkedWritten, blankWritten, putWritten, headerWritten, infoWritten atomic.Int64
	bomb := gzipBomb()
	endlessHeader := func(c net.Conn, stop <-chan struct{}) {
		readRequest(c)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Padding: ")
		writeEndless(c, bytes.Repeat([]byte("a"), 32<<10), hugeBody, &headerWritten, stop)
	}
	gzipAnswer := func(change func(*answer)) func(*answer) {
		return func(a *answer) {
			if change != nil {
				change(a)
			}
			a.body = gzipped(a.body)
			a.header.Set("Content-Encoding", "gzip")
		}
	}

	cases := []hostileCase{
		// Many megabytes.
		{name: "50 MB get answer with its length", args: getImm, handler: hugeAnswer(`{"v":"`, 'a', true, &lengthWritten), code: 1, stderr: reTooBig, check: wroteLittle(&lengthWritten)},
		{name: "50 MB get answer, chunked", args: getMut, handler: hugeAnswer(`{"id":"`, '0', false, &chunkedWritten), code: 1, stderr: reTooBig, check: wroteLittle(&chunkedWritten)},
		{name: "50 MB of blanks", args: getImm, handler: hugeAnswer("", ' ', false, &blankWritten), code: 1, stderr: reTooBig, check: wroteLittle(&blankWritten)},
		{name: "50 MB put answer", args: putImm, handler: hugeAnswer(`"`, 'a', true, &putWritten), code: 1, stderr: reTooBig, check: wroteLittle(&putWritten)},
		{name: "endless header", args: getImm, raw: endlessHeader, code: 1, stderr: `error: talking to the grape at 127\.0\.0\.1:\d+: the grape's answer is too large: its headers exceed 65536 bytes\n`, check: wroteLittle(&headerWritten)},
		// Compressed answers: grenache asks for no compression and inflates nothing.
		{name: "gzip bomb: 50 KB that would inflate to 50 MB", args: getImm, tamper: func(a *answer) { a.body = bomb; a.header.Set("Content-Encoding", "gzip") }, code: 1, stderr: reNotJSON},
		{name: "gzip of the real answer", args: getImm, tamper: gzipAnswer(nil), code: 1, stderr: reNotJSON},
		{name: "gzip of a changed value", args: getImm, tamper: gzipAnswer(setString("v", changeByte)), code: 1, stderr: reNotJSON},
		{name: "gzip of the real put answer", args: putImm, tamper: gzipAnswer(nil), code: 1, stderr: reProtocol + rePutJSON},
		{name: "gzip cut short", args: getImm, tamper: func(a *answer) {
			a.body = gzipped(a.body)[:20]
			a.header.Set("Content-Encoding", "gzip")
		}, code: 1, stderr: reNotJSON},
		{name: "Content-Encoding gzip on the plain real answer", args: getImm, tamper: func(a *answer) { a.header.Set("Content-Encoding", "gzip") }, code: 0, stdout: immValue + "\n"},
		{name: "Content-Encoding gzip on a changed value", args: getImm, tamper: both(setString("v", changeByte), func(a *answer) { a.header.Set("Content-Encoding", "gzip") }), code: 4, stderr: reTarget},
		{name: "deflate", args: getImm, tamper: func(a *answer) {
			a.body = gzipped(a.body)[10:]
			a.header.Set("Content-Encoding", "deflate")
		}, code: 1, stderr: reNotJSON},

		// Too slow: bounded by --timeout.
		{name: "get answer one byte a second", args: getImm, handler: e.trickle, code: 1, stderr: reTimeout},
		{name: "put answer one byte a second", args: putImm, handler: e.trickle, code: 1, stderr: reTimeout},
		{name: "mutable put answer one byte a second", args: putMut, handler: e.trickle, code: 1, stderr: reTimeout},
		{name: "headers one byte a second", args: getImm, raw: rawTrickle("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"), code: 1, stderr: reTimeout},
		{name: "headers, then nothing", args: getImm, handler: headersThenHang, code: 1, stderr: reTimeout},
		{name: "no answer at all", args: getImm, handler: neverAnswer, code: 1, stderr: reTimeout},
		{name: "no answer to a put", args: putMut, handler: neverAnswer, code: 1, stderr: reTimeout},
		{name: "connection taken, request never read", args: getImm, raw: func(c net.Conn, stop <-chan struct{}) { <-stop }, code: 1, stderr: reTimeout},

		// Not HTTP, or cut.
		{name: "connection closed at once", args: getImm, raw: func(net.Conn, <-chan struct{}) {}, code: 1, stderr: reClosed},
		{name: "connection closed after the request", args: putImm, raw: rawAnswer(""), code: 1, stderr: reClosed},
		{name: "connection closed within the headers", args: getImm, raw: rawAnswer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"), code: 1,
			stderr: `error: the grape at 127\.0\.0\.1:\d+ closed the connection before its answer was complete\n`},
		{name: "connection reset after the request", args: getImm, raw: func(c net.Conn, stop <-chan struct{}) {
			readRequest(c)
			c.(*net.TCPConn).SetLinger(0)
		}, code: 1, stderr: reClosed},
		{name: "not HTTP", args: getImm, raw: rawAnswer("SSH-2.0-OpenSSH_9.6\r\n"), code: 1, stderr: `error: talking to the grape at 127\.0\.0\.1:\d+: malformed HTTP response "SSH-2.0-OpenSSH_9.6"\n`},
		{name: "HTTP/0.9: a body without a status line", args: getImm, raw: rawAnswer(string(e.answers[e.imm])), code: 1, stderr: `talking to the grape at 127\.0\.0\.1:\d+: malformed HTTP status code "world\\"}"`},
		{name: "status code not a number", args: getImm, raw: rawAnswer("HTTP/1.1 2OO OK\r\n\r\n"), code: 1, stderr: `malformed HTTP status code "2OO"`},
		{name: "status code of four digits", args: getImm, raw: rawAnswer("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"), code: 1, stderr: `malformed HTTP status code "2000"`},
		{name: "status code 0", args: getImm, raw: rawAnswer("HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n"), code: 1, stderr: `malformed HTTP status code "000"|unexpected answer from the grape \(HTTP 0\)`},
		{name: "endless 1xx answers", args: getImm, raw: func(c net.Conn, stop <-chan struct{}) {
			readRequest(c)
			writeEndless(c, []byte("HTTP/1.1 102 Processing\r\n\r\n"), hugeBody, &infoWritten, stop)
		}, code: 1, stderr: `its headers exceed 65536 bytes`, check: wroteLittle(&infoWritten)},
		{name: "101 Switching Protocols", args: getImm, raw: rawAnswer("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: grape\r\n\r\n" + string(e.answers[e.imm])), code: 1, stderr: reStatus(101)},
		{name: "body shorter than its length", args: getImm, raw: rawAnswer("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + string(e.answers[e.imm])), code: 1,
			stderr: `error: the grape at 127\.0\.0\.1:\d+ closed the connection before its answer was complete\n`},
		{name: "body longer than its length", args: getImm, raw: rawAnswer("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + string(e.answers[e.imm])), code: 1, stderr: reProtocol + `the answer is cut short`},
		{name: "malformed chunks", args: getImm, raw: rawAnswer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), code: 1, stderr: `error: reading the grape's answer: .*malformed chunked encoding|invalid byte in chunk length`},
		{name: "two Content-Lengths", args: getImm, raw: rawAnswer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 80\r\n\r\n{}"), code: 1, stderr: `message cannot contain multiple Content-Length headers`},

		// TLS.
		{name: "plain HTTP to a TLS server", args: getImm, tls: true, code: 1, stderr: reStatus(400) + `: "Client sent an HTTP request to an HTTPS server\."`},
		{name: "TLS to a plain HTTP server", args: append([]string{"get", "-t"}, e.imm), code: 1, stderr: `error: talking to the grape at 127\.0\.0\.1:\d+: http: server gave HTTP response to HTTPS client\n`},
		{name: "TLS with an unknown certificate", args: append([]string{"get", "-t"}, e.imm), tls: true, code: 1, stderr: `certificate signed by unknown authority`},

		// Nothing there.
		{name: "connection refused", args: getImm, closed: true, code: 1, stderr: `error: cannot connect to a grape at 127\.0\.0\.1:\d+: connection refused\n.*hint: is a grape running there\?`},
		{name: "connection refused to a put", args: putMut, closed: true, code: 1, stderr: `error: cannot connect to a grape at 127\.0\.0\.1:\d+: connection refused`},
	}
	e.runHostile(t, cases)
	if strings.Count(string(bomb), "a") > 1<<20 {
		t.Fatalf("the gzip bomb is not compressed")
	}
}
