package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// readConfig returns a file of this folder (the tests run in deploy/).
func readConfig(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return b
}

// yamlToJSON converts one YAML document to JSON. sigs.k8s.io/yaml is what
// kubectl uses; for the Envoy files it stands in for Envoy's own YAML loader,
// which also converts YAML to JSON before parsing the proto.
func yamlToJSON(t testing.TB, name string, doc []byte) []byte {
	t.Helper()
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatalf("%s: YAML to JSON: %v", name, err)
	}
	return j
}

// decodeStrictJSON decodes JSON into v the way the Kubernetes API server does
// with strict field validation: field names match case-sensitively, and an
// unknown or duplicate field is an error (encoding/json alone would accept
// "failopen" for "failOpen").
func decodeStrictJSON(data []byte, v any) error {
	strictErrs, err := k8sjson.UnmarshalStrict(data, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// yamlDocs splits a multi-document YAML file the way kubectl does, dropping
// documents that hold only comments.
func yamlDocs(t testing.TB, name string, data []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: splitting YAML documents: %v", name, err)
		}
		if len(bytes.TrimSpace(stripYAMLComments(doc))) == 0 {
			continue
		}
		docs = append(docs, doc)
	}
}

func stripYAMLComments(doc []byte) []byte {
	var out []byte
	for line := range strings.Lines(string(doc)) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, line...)
	}
	return out
}

// typeMeta is what every Kubernetes object starts with; it picks the Go type
// a document is decoded into.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// identityHeaders are lbauthz's default upstream identity headers, which a
// client must never be able to send to the app.
var identityHeaders = []string{"x-user-id", "x-user-groups", "x-user-info"}

// mustReplaceOnce replaces old with new in s and fails unless old occurs
// exactly once, so a mutation test cannot silently mutate nothing.
func mustReplaceOnce(t testing.TB, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("expected %q exactly once, found it %d times", old, n)
	}
	return strings.Replace(s, old, new, 1)
}
