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
	"strconv"
	"sync"
	"unicode/utf16"
)

// Server is a fake grape. The zero value is not usable: call NewServer.
type Server struct {
	*httptest.Server
	// ID is the node id reported in get answers.
	ID string

	mu    sync.Mutex
	items map[string]*item
	puts  int
	gets  int
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
	s := &Server{ID: "0123456789abcdef0123456789abcdef01234567", items: map[string]*item{}}
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

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RID  string          `json:"rid"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "ERR_GRAPE_PAYLOAD_INVALID", http.StatusInternalServerError)
		return
	}
	switch r.URL.Path {
	case "/put":
		s.put(w, req.Data)
	case "/get":
		s.get(w, req.Data)
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

// String describes the server for test logs.
func (s *Server) String() string { return fmt.Sprintf("fake grape at %s", s.URL) }
