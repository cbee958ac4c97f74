// Package grapetest runs an in-memory imitation of a grape's HTTP API for tests.
//
// It follows the answers recorded in the grape API notes (status codes, JSON
// string errors, empty bodies for misses) and checks items on its own, with
// the standard library alone, so that it is an independent second opinion on
// what the client signs and hashes.
package grapetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
)

// Server is a fake grape. The zero value is not usable: call NewServer.
type Server struct {
	*httptest.Server
	// ID is the node id reported in get answers.
	ID string

	// DHTPort is the port an announce of port 0 stands for, as a grape announces
	// its own DHT port then.
	DHTPort int

	mu        sync.Mutex
	items     map[string]*item
	puts      int
	gets      int
	peers     map[string][]string // service -> "host:port", in announce order
	announces int
	answers   map[string]fixed // path -> a fixed answer
}

// fixed is an answer given whatever the request.
type fixed struct {
	status int
	body   string
}

type item struct {
	V    string
	K    string
	Seq  int64
	Sig  string
	Salt string
}

// NewServer starts a fake grape on a loopback port.
func NewServer() *Server {
	s := &Server{ID: "0123456789abcdef0123456789abcdef01234567", DHTPort: 20001,
		items: map[string]*item{}, peers: map[string][]string{}, answers: map[string]fixed{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Counts reports how many put and get requests reached the server.
func (s *Server) Counts() (puts, gets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts, s.gets
}

// Forget drops the item stored under hash (40 hex digits), as a grape that
// restarted would: a put of any seq is then accepted again, so a test can make
// the server answer with an older version than one it held before. It
// reports whether there was an item.
func (s *Server) Forget(hash string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.items[hash]
	delete(s.items, hash)
	return ok
}

// Announces reports how many announce requests reached the server.
func (s *Server) Announces() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.announces
}

// SetPeers makes a lookup of service answer peers, as given (unchecked: a test
// can make the server answer what no grape would); none removes them.
func (s *Server) SetPeers(service string, peers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(peers) == 0 {
		delete(s.peers, service)
		return
	}
	s.peers[service] = append([]string(nil), peers...)
}

// Answer makes every request to path ("/announce") answer status and body
// from now on, counted as it was; an empty body and status 0 undo it.
func (s *Server) Answer(path string, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 && body == "" {
		delete(s.answers, path)
		return
	}
	s.answers[path] = fixed{status, body}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RID  string          `json:"rid"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "ERR_GRAPE_PAYLOAD_INVALID", http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	a, ok := s.answers[r.URL.Path]
	if ok && r.URL.Path == "/announce" {
		s.announces++
	}
	s.mu.Unlock()
	if ok {
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
		return
	}
	switch r.URL.Path {
	case "/put":
		s.put(w, req.Data)
	case "/get":
		s.get(w, req.Data)
	case "/lookup":
		s.lookup(w, req.Data)
	case "/announce":
		s.announce(w, req.Data)
	default:
		jsonString(w, http.StatusOK, "ERR_REQ_NOTFOUND")
	}
}

func jsonString(w http.ResponseWriter, status int, s string) {
	b, _ := json.Marshal(s)
	w.WriteHeader(status)
	w.Write(b)
}

func bencodeString(v string) string { return strconv.Itoa(len(v)) + ":" + v }

func (s *Server) put(w http.ResponseWriter, data json.RawMessage) {
	var p struct {
		V    *string
		K    *string
		Sig  *string
		Salt *string
		Seq  *json.Number
		Cas  *json.Number
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&p); err != nil || p.V == nil { // "" is a value like any other

		jsonString(w, http.StatusOK, "opts.v not given")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	// The sending grape counts JavaScript string length (UTF-16 units); its peers
	// refuse over 1000 bytes (error 205) and the put fails.
	if len(utf16.Encode([]rune(*p.V))) >= 1000 {
		jsonString(w, http.StatusOK, "v must be less than 1000 bytes in put()")
		return
	}
	if len(*p.V) > 1000 {
		jsonString(w, http.StatusOK, "All queries failed")
		return
	}
	if p.K == nil {
		sum := sha1.Sum([]byte(bencodeString(*p.V)))
		key := hex.EncodeToString(sum[:])
		s.items[key] = &item{V: *p.V}
		jsonString(w, http.StatusOK, key)
		return
	}
	k, err := hex.DecodeString(*p.K)
	if err != nil || len(k) != ed25519.PublicKeySize {
		jsonString(w, http.StatusOK, "opts.k ed25519 public key must be 32 bytes")
		return
	}
	if p.Sig == nil {
		jsonString(w, http.StatusOK, "opts.sign function or options.sig signature is required for mutable put")
		return
	}
	if p.Seq == nil {
		jsonString(w, http.StatusOK, "opts.seq not provided for a mutable update")
		return
	}
	seq, err := p.Seq.Int64()
	if err != nil {
		jsonString(w, http.StatusOK, "opts.seq not an integer")
		return
	}
	salt := ""
	if p.Salt != nil {
		salt = *p.Salt
	}
	if len(salt) > 64 {
		jsonString(w, http.StatusOK, "opts.salt is > 64 bytes long")
		return
	}
	buf := ""
	if salt != "" {
		buf = "4:salt" + bencodeString(salt)
	}
	buf += "3:seqi" + strconv.FormatInt(seq, 10) + "e1:v" + bencodeString(*p.V)
	sig, err := hex.DecodeString(*p.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(k, []byte(buf), sig) {
		// A real grape's peers drop badly signed items silently.
		jsonString(w, http.StatusOK, "All queries failed")
		return
	}
	sum := sha1.Sum(append(k, salt...))
	key := hex.EncodeToString(sum[:])
	if old := s.items[key]; old != nil {
		if p.Cas != nil {
			cas, err := p.Cas.Int64()
			if err != nil {
				jsonString(w, http.StatusOK, "opts.cas must be an integer if provided")
				return
			}
			if cas != old.Seq {
				jsonString(w, http.StatusMovedPermanently, "301 CAS mismatch, re-read and try again")
				return
			}
		}
		if seq <= old.Seq {
			jsonString(w, http.StatusFound, "302 sequence number less than current")
			return
		}
	}
	s.items[key] = &item{V: *p.V, K: *p.K, Seq: seq, Sig: *p.Sig, Salt: salt}
	jsonString(w, http.StatusOK, key)
}

func (s *Server) get(w http.ResponseWriter, data json.RawMessage) {
	var hash string
	if err := json.Unmarshal(data, &hash); err != nil {
		var q struct{ Hash string }
		if err := json.Unmarshal(data, &q); err != nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		hash = q.Hash
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	it := s.items[hash]
	if it == nil {
		w.WriteHeader(http.StatusOK) // not found: an empty body
		return
	}
	var b []byte
	if it.K == "" {
		b, _ = json.Marshal(struct {
			ID    string  `json:"id"`
			Token *string `json:"token"`
			V     string  `json:"v"`
		}{s.ID, nil, it.V})
	} else {
		b, _ = json.Marshal(struct {
			ID    string  `json:"id"`
			K     string  `json:"k"`
			Seq   int64   `json:"seq"`
			Sig   string  `json:"sig"`
			Token *string `json:"token"`
			V     string  `json:"v"`
		}{s.ID, it.K, it.Seq, it.Sig, nil, it.V})
	}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// lookup answers the peers announced for a service, [] when none; data must
// be a non-empty string, as for a grape.
func (s *Server) lookup(w http.ResponseWriter, data json.RawMessage) {
	var service string
	if json.Unmarshal(data, &service) != nil || service == "" {
		jsonString(w, http.StatusOK, "ERR_GRAPE_LOOKUP")
		return
	}
	s.mu.Lock()
	peers := append([]string{}, s.peers[service]...)
	s.mu.Unlock()
	b, _ := json.Marshal(peers)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// announce records 127.0.0.1:PORT as a peer of the service and answers 1 (the
// nodes that took it). As a grape: data must be an array, the port a JSON
// integer (a string is ERR_GRAPE_SERVICE_PORT), and 0 stands for DHTPort.
func (s *Server) announce(w http.ResponseWriter, data json.RawMessage) {
	var d []json.RawMessage
	if json.Unmarshal(data, &d) != nil || d == nil {
		jsonString(w, http.StatusOK, "ERR_GRAPE_ANNOUNCE")
		return
	}
	s.mu.Lock()
	s.announces++
	s.mu.Unlock()
	var service string
	var port json.Number
	dec := func(raw json.RawMessage, v any) bool {
		if raw == nil {
			return false
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		return d.Decode(v) == nil
	}
	if len(d) < 2 || !dec(d[1], &port) || strings.ContainsAny(port.String(), ".eE") {
		jsonString(w, http.StatusOK, "ERR_GRAPE_SERVICE_PORT")
		return
	}
	if !dec(d[0], &service) {
		jsonString(w, http.StatusOK, "ERR_GRAPE_ANNOUNCE")
		return
	}
	n, err := port.Int64()
	if err != nil || n < 0 || n > 65535 {
		jsonString(w, http.StatusOK, "ERR_GRAPE_SERVICE_PORT")
		return
	}
	if n == 0 {
		n = int64(s.DHTPort)
	}
	peer := "127.0.0.1:" + strconv.FormatInt(n, 10)
	s.mu.Lock()
	if !slices.Contains(s.peers[service], peer) {
		s.peers[service] = append(s.peers[service], peer)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("1"))
}

// String describes the server for test logs.
func (s *Server) String() string { return fmt.Sprintf("fake grape at %s", s.URL) }
