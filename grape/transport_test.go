package grape

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"grenache/bep44"
)

// fakeTransport answers from fixed values and records what it was given.
type fakeTransport struct {
	key    bep44.Target
	answer *Answer
	err    error
	cas    *int64
	peers  []string
	nodes  int
}

func (f *fakeTransport) Put(ctx context.Context, it *bep44.Item, cas *int64) (bep44.Target, error) {
	f.cas = cas
	return f.key, f.err
}

func (f *fakeTransport) Get(ctx context.Context, target bep44.Target, salt []byte) (*Answer, error) {
	return f.answer, f.err
}

func (f *fakeTransport) Lookup(ctx context.Context, service string) ([]string, error) {
	return f.peers, f.err
}

func (f *fakeTransport) Announce(ctx context.Context, service string, port int) (int, error) {
	return f.nodes, f.err
}

func TestStore(t *testing.T) {
	it := mutableItem(t, "foo", 3, "hello")
	other := bep44.ImmutableTarget([]byte("other"))
	cas := int64(2)

	f := &fakeTransport{key: it.Target()}
	got, err := Store(testCtx(t), f, it, &cas)
	if err != nil || got != it.Target() || f.cas != &cas {
		t.Errorf("Store with the right key: %s, %v (cas passed: %t)", got, err, f.cas == &cas)
	}

	f = &fakeTransport{key: other}
	got, err = Store(testCtx(t), f, it, nil)
	if !errors.Is(err, bep44.ErrTargetMismatch) || got != other {
		t.Errorf("Store with another key: %s, %v; want %s and an error wrapping ErrTargetMismatch", got, err, other)
	}

	f = &fakeTransport{err: ErrSeqNotNewer}
	if _, err := Store(testCtx(t), f, it, nil); !errors.Is(err, ErrSeqNotNewer) {
		t.Errorf("Store with a failing put: %v, want ErrSeqNotNewer", err)
	}

	// Through HTTP: a grape answering the key of another value.
	h, _ := stubGrape(t, reply(200, `"`+helloKey+`"`))
	if _, err := Store(testCtx(t), h, &bep44.Item{V: []byte("hello world!")}, nil); !errors.Is(err, bep44.ErrTargetMismatch) {
		t.Errorf("Store over HTTP with another key: %v, want ErrTargetMismatch", err)
	}
	if key, err := Store(testCtx(t), h, &bep44.Item{V: []byte("hello world")}, nil); err != nil || key.String() != helloKey {
		t.Errorf("Store over HTTP: %s, %v", key, err)
	}
}

func TestFetch(t *testing.T) {
	it := mutableItem(t, "foo", 7, "hello")
	unsalted := mutableItem(t, "", 7, "hello")
	other := mutableItem(t, "foo", 8, "bye")
	imm := &bep44.Item{V: []byte("hello world")}
	big := strings.Repeat("a", bep44.MaxNodeValue+1) // more than any node keeps
	most := strings.Repeat("a", bep44.MaxNodeValue)  // over BEP 44's reading, yet nodes keep it
	moreSalt := mutableItem(t, "foo", 7, strings.Repeat("é", 500))
	otherKey := func() string {
		s, err := bep44.NewSigner(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(s.PublicKey())
	}()

	tests := []struct {
		name   string
		target bep44.Target
		salt   string
		body   string
		want   error // nil: the item comes back
	}{
		{"immutable", imm.Target(), "", answerJSON(t, imm, nil), nil},
		{"immutable, value changed", imm.Target(), "", answerJSON(t, imm, func(m map[string]any) { m["v"] = "hello world!" }), bep44.ErrTargetMismatch},
		{"immutable answered with a mutable item", imm.Target(), "", answerJSON(t, it, nil), bep44.ErrTargetMismatch},
		{"mutable", it.Target(), "foo", answerJSON(t, it, nil), nil},
		{"mutable with the grape's salt", it.Target(), "foo", answerJSON(t, it, func(m map[string]any) { m["salt"] = "foo" }), nil},
		{"unsalted mutable", unsalted.Target(), "", answerJSON(t, unsalted, nil), nil},
		{"value changed", it.Target(), "foo", answerJSON(t, it, func(m map[string]any) { m["v"] = "hellO" }), bep44.ErrInvalidSignature},
		{"seq changed", it.Target(), "foo", answerJSON(t, it, func(m map[string]any) { m["seq"] = 8 }), bep44.ErrInvalidSignature},
		{"sig changed", it.Target(), "foo", answerJSON(t, it, func(m map[string]any) { m["sig"] = hex.EncodeToString(other.Sig) }), bep44.ErrInvalidSignature},
		{"key changed", it.Target(), "foo", answerJSON(t, it, func(m map[string]any) { m["k"] = otherKey }), bep44.ErrTargetMismatch},
		{"newer item, valid", other.Target(), "foo", answerJSON(t, other, nil), nil},
		{"salt not asked", it.Target(), "", answerJSON(t, it, nil), bep44.ErrTargetMismatch},
		{"wrong salt asked", it.Target(), "bar", answerJSON(t, it, nil), bep44.ErrTargetMismatch},
		{"value over the limit", bep44.ImmutableTarget([]byte(big)), "", `{"v":"` + big + `"}`, bep44.ErrValueTooLarge},
		{"immutable 1000-byte value", bep44.ImmutableTarget([]byte(most)), "", `{"v":"` + most + `"}`, nil},
		{"mutable 1000-byte value", moreSalt.Target(), "foo", answerJSON(t, moreSalt, nil), nil},
		{"immutable empty value", bep44.ImmutableTarget(nil), "", `{"id":"ab","token":null,"v":""}`, nil},
		{"salt in the answer differs", it.Target(), "foo", answerJSON(t, it, func(m map[string]any) { m["salt"] = "bar" }), bep44.ErrTargetMismatch},
		{"salt in an immutable answer", imm.Target(), "", answerJSON(t, imm, func(m map[string]any) { m["salt"] = "bar" }), bep44.ErrTargetMismatch},
		{"immutable with nodes and seq 0", imm.Target(), "", answerJSON(t, imm, func(m map[string]any) {
			m["seq"] = 0
			m["nodes"] = map[string]any{"type": "Buffer", "data": []int{1, 2, 3}}
		}), nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := stubGrape(t, reply(200, tt.body))
			a, err := Fetch(testCtx(t), h, tt.target, []byte(tt.salt))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if a.Item.Target() != tt.target {
					t.Errorf("Fetch returned an item under %s, want %s", a.Item.Target(), tt.target)
				}
				return
			}
			if !errors.Is(err, tt.want) || a != nil {
				t.Errorf("Fetch: answer %v, error %v; want an error wrapping %v", a, err, tt.want)
			}
		})
	}

	// Transport errors pass through; a transport answering nothing is an error.
	if _, err := Fetch(testCtx(t), &fakeTransport{err: ErrNotFound}, it.Target(), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Fetch with a failing get: %v, want ErrNotFound", err)
	}
	if _, err := Fetch(testCtx(t), &fakeTransport{}, it.Target(), nil); err == nil {
		t.Errorf("Fetch with a nil answer: no error")
	}
	want := &Answer{Item: *imm, ID: "x"}
	got, err := Fetch(testCtx(t), &fakeTransport{answer: want}, imm.Target(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Fetch answer mismatch (-want +got):\n%s", diff)
	}
}

// TestFetchMarksMutable: a failed check says whether the answered item was
// mutable (then a missing salt is the likely cause), without changing the message.
func TestFetchMarksMutable(t *testing.T) {
	salted := mutableItem(t, "foo", 7, "hello")
	asked := salted.Target()
	noSalt := *salted
	noSalt.Salt = nil // what a reader without --salt checks with
	_, err := Fetch(testCtx(t), &fakeTransport{answer: &Answer{Item: noSalt}}, asked, nil)
	if !errors.Is(err, ErrMutable) || !errors.Is(err, bep44.ErrTargetMismatch) {
		t.Errorf("salted item read without its salt: %v, want ErrMutable and ErrTargetMismatch", err)
	}
	if strings.HasPrefix(err.Error(), ErrMutable.Error()) {
		t.Errorf("the mark changed the message: %q", err)
	}
	imm := bep44.Item{V: []byte("hello world!")}
	_, err = Fetch(testCtx(t), &fakeTransport{answer: &Answer{Item: imm}}, bep44.ImmutableTarget([]byte("hello world")), nil)
	if errors.Is(err, ErrMutable) || !errors.Is(err, bep44.ErrTargetMismatch) {
		t.Errorf("tampered immutable item: %v, want ErrTargetMismatch without ErrMutable", err)
	}
}
