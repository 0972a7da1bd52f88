package protocol

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden and the generated parts of PROTOCOL.md")

const goldenDir = "testdata/golden"

// typeConstants reads the Type* constants from the package source, so a new
// frame type cannot be forgotten by the registry, the examples or the docs.
func typeConstants(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "envelope.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Type") {
					continue
				}
				v, err := strconv.Unquote(vs.Values[i].(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				types = append(types, v)
			}
		}
	}
	if len(types) < 20 {
		t.Fatalf("found only %d Type constants in envelope.go", len(types))
	}
	return types
}

// decodeAny picks the decoder by direction; type names are direction-unique.
func decodeAny(data []byte) (Frame, error) {
	var h struct{ Type string }
	_ = json.Unmarshal(data, &h)
	if newClientFrame(h.Type) != nil {
		return Decode(data, DefaultLimits())
	}
	return DecodeServerFrame(data)
}

func TestEveryTypeIsRegisteredOnceAndHasAnExampleAndGoldenFile(t *testing.T) {
	ex := examples()
	types := typeConstants(t)
	for _, typ := range types {
		client, server := newClientFrame(typ) != nil, newServerFrame(typ) != nil
		if client == server {
			t.Errorf("%s: registered as client=%v server=%v, want exactly one direction", typ, client, server)
		}
		f, ok := ex[typ]
		if !ok {
			t.Errorf("%s: no example in examples_test.go", typ)
			continue
		}
		if f.FrameType() != typ {
			t.Errorf("examples[%s] has FrameType %s", typ, f.FrameType())
		}
		if _, err := os.Stat(filepath.Join(goldenDir, typ+".json")); err != nil && !*update {
			t.Errorf("%s: no golden file: %v", typ, err)
		}
	}
	if len(ex) != len(types) {
		t.Errorf("%d examples for %d types", len(ex), len(types))
	}
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	for _, f := range files {
		if !slices.Contains(types, strings.TrimSuffix(filepath.Base(f), ".json")) {
			t.Errorf("stale golden file %s", f)
		}
	}
}

func TestGoldenEncodeAndRoundTrip(t *testing.T) {
	for typ, f := range examples() {
		t.Run(typ, func(t *testing.T) {
			path := filepath.Join(goldenDir, typ+".json")
			got := append(Encode(f), '\n')
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding changed (run go test -update if intended)\n got: %s\nwant: %s", got, want)
			}
			back, err := decodeAny(bytes.TrimSpace(want))
			if err != nil {
				t.Fatalf("golden file does not decode: %v", err)
			}
			if !reflect.DeepEqual(back, f) {
				t.Fatalf("round trip differs\n got: %#v\nwant: %#v", back, f)
			}
		})
	}
}

// TestHandEncoderAgreesWithJSONTags keeps the hand-written encoder and the
// struct tags (which the decoder uses) describing the same JSON.
func TestHandEncoderAgreesWithJSONTags(t *testing.T) {
	for typ, f := range examples() {
		var fromHand, fromTags map[string]any
		if err := json.Unmarshal(Encode(f), &fromHand); err != nil {
			t.Fatalf("%s: hand encoding is not JSON: %v", typ, err)
		}
		tagged, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(tagged, &fromTags); err != nil {
			t.Fatal(err)
		}
		fromTags["type"] = typ
		if !reflect.DeepEqual(fromHand, fromTags) {
			t.Errorf("%s: hand encoder and json tags disagree\nhand: %v\ntags: %v", typ, fromHand, fromTags)
		}
	}
}

func TestEncodeIgnoresHeaderVersionAndWritesEnvelopeFirst(t *testing.T) {
	got := string(Encode(&Ping{Header: Header{V: 7, ID: "a\"b"}}))
	if want := `{"v":1,"id":"a\"b","type":"ping"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	got = string(Encode(&GoAway{Reason: GoAwayShutdown}))
	if !strings.HasPrefix(got, `{"v":1,"type":"goaway",`) {
		t.Fatalf("push without id: %s", got)
	}
}

func TestAppendStringEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"plain":            `"plain"`,
		"q\"b\\s/":         `"q\"b\\s/"`,
		"\n\r\t\x00\x1f":   `"\n\r\t\u0000\u001f"`,
		"bad\xffutf8\xc3":  `"bad\ufffdutf8\ufffd"`,
		"ls\u2028ps\u2029": `"ls\u2028ps\u2029"`,
		"été 🥗 <&>":        `"été 🥗 <&>"`,
		"":                 `""`,
		"\x7f":             "\"\x7f\"",
	} {
		got := string(appendString(nil, in))
		if got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("appendString(%q) is not a JSON string: %v", in, err)
		}
	}
}
