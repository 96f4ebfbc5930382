// Package config loads lbauthz's configuration file: YAML whose schema is the
// protobuf message lbauthz.config.v1.Config (proto/lbauthz/config/v1).
//
// Loading is strict. Every key is checked against the schema before decoding,
// so an unknown or misspelt key is an error naming the key, its place in the
// file and, when one is close, the key that was probably meant. After
// decoding, defaults are filled in, the environment fills what the file left
// empty (LIVEBLOCKS_SECRET_KEY, LIVEBLOCKS_BASE_URL), and the values are
// validated. Secret values are never part of an error.
//
// The package does not read secret files: see Secrets.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Load reads, decodes, defaults and validates the configuration file at path.
func Load(path string) (*configv1.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data, os.Getenv)
}

// Parse is Load for a file already read. name is used in error messages;
// getenv supplies the environment (os.Getenv, or a map in tests).
func Parse(name string, data []byte, getenv func(string) string) (*configv1.Config, error) {
	cfg, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	applyEnv(cfg, getenv)
	// The identity section as written: the default of more_sessions'.
	written := proto.Clone(cfg.Identity).(*configv1.Identity)
	applyDefaults(cfg)
	applySourceDefaults(cfg, written) // sources.go
	if err := Validate(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// decode checks every key against the schema, then decodes the YAML into the
// protobuf message.
func decode(name string, data []byte) (*configv1.Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", name, err)
	}
	cfg := &configv1.Config{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return cfg, nil // an empty file is all defaults
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfg, nil
	}
	var errs []error
	checkMessage(name, root, cfg.ProtoReflect().Descriptor(), "", &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var generic any
	if err := root.Decode(&generic); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	js, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, cfg); err != nil {
		// checkMessage catches keys and shapes; what is left here is a value
		// protojson refuses (a duration such as "5 seconds").
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "proto: "), "proto:\u00a0")
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	return cfg, nil
}

func at(name string, n *yaml.Node, path string) string {
	if path == "" {
		path = "(top level)"
	}
	return fmt.Sprintf("%s:%d: %s", name, n.Line, path)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkMessage walks a YAML mapping against a message descriptor.
func checkMessage(name string, n *yaml.Node, md protoreflect.MessageDescriptor, path string, errs *[]error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		*errs = append(*errs, fmt.Errorf("%s: expected a mapping of keys, got %s", at(name, n, path), kindOf(n)))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		fd := md.Fields().ByName(protoreflect.Name(key))
		if fd == nil || key != string(fd.Name()) {
			*errs = append(*errs, fmt.Errorf("%s: unknown key %q%s", at(name, k, path), key, suggest(key, md)))
			continue
		}
		if seen[key] {
			*errs = append(*errs, fmt.Errorf("%s: key %q appears twice", at(name, k, path), key))
			continue
		}
		seen[key] = true
		checkField(name, v, fd, join(path, key), errs)
	}
}

func checkField(name string, v *yaml.Node, fd protoreflect.FieldDescriptor, path string, errs *[]error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return
	}
	switch {
	case fd.IsMap():
		if v.Kind != yaml.MappingNode {
			*errs = append(*errs, fmt.Errorf("%s: expected a mapping, got %s", at(name, v, path), kindOf(v)))
			return
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			checkValue(name, v.Content[i+1], fd.MapValue(), join(path, v.Content[i].Value), errs)
		}
	case fd.IsList():
		if v.Kind != yaml.SequenceNode {
			*errs = append(*errs, fmt.Errorf("%s: expected a list, got %s", at(name, v, path), kindOf(v)))
			return
		}
		for i, item := range v.Content {
			checkValue(name, item, fd, fmt.Sprintf("%s[%d]", path, i), errs)
		}
	default:
		checkValue(name, v, fd, path, errs)
	}
}

func checkValue(name string, v *yaml.Node, fd protoreflect.FieldDescriptor, path string, errs *[]error) {
	if fd.Kind() == protoreflect.MessageKind {
		if fd.Message().FullName() == "google.protobuf.ListValue" {
			checkStringList(name, v, path, errs)
			return
		}
		if fd.Message().FullName() == "google.protobuf.Duration" {
			checkDuration(name, v, path, errs)
			return
		}
		checkMessage(name, v, fd.Message(), path, errs)
		return
	}
	if v.Kind != yaml.ScalarNode {
		*errs = append(*errs, fmt.Errorf("%s: expected %s, got %s", at(name, v, path), kindName(fd.Kind()), kindOf(v)))
		return
	}
	ok := true
	switch fd.Kind() {
	case protoreflect.StringKind:
		// Numbers and booleans written without quotes are still fine as
		// strings (a port, "true"): YAML gives their text.
	case protoreflect.BoolKind:
		ok = v.Tag == "!!bool"
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Int32Kind, protoreflect.Int64Kind:
		ok = v.Tag == "!!int"
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		ok = v.Tag == "!!int" || v.Tag == "!!float"
	case protoreflect.EnumKind:
		ok = v.Tag == "!!str" && fd.Enum().Values().ByName(protoreflect.Name(v.Value)) != nil
	}
	if !ok {
		*errs = append(*errs, fmt.Errorf("%s: expected %s, got %q", at(name, v, path), kindName(fd.Kind()), v.Value))
	}
}

// checkDuration accepts Go's duration syntax ("250ms", "1m30s") and rewrites
// the value into the form protojson reads ("0.25s").
func checkDuration(name string, v *yaml.Node, path string, errs *[]error) {
	d, err := time.ParseDuration(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		*errs = append(*errs, fmt.Errorf("%s: expected a duration such as \"250ms\" or \"5s\", got %s", at(name, v, path), kindOf(v)))
		return
	}
	v.Tag, v.Style = "!!str", 0
	v.Value = strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// checkStringList accepts a list of strings (the permission lists of the
// rooms section).
func checkStringList(name string, v *yaml.Node, path string, errs *[]error) {
	if v.Kind != yaml.SequenceNode {
		*errs = append(*errs, fmt.Errorf("%s: expected a list of strings, got %s", at(name, v, path), kindOf(v)))
		return
	}
	for i, item := range v.Content {
		if item.Kind != yaml.ScalarNode || item.Tag != "!!str" {
			*errs = append(*errs, fmt.Errorf("%s[%d]: expected a string, got %s", at(name, item, path), i, kindOf(item)))
		}
	}
}

func kindName(k protoreflect.Kind) string {
	switch k {
	case protoreflect.BoolKind:
		return "true or false"
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return "a non-negative whole number"
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		return "a whole number"
	case protoreflect.StringKind:
		return "a string"
	}
	return k.String()
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.Value)
}

// suggest names the known key closest to a misspelt one, and lists the keys
// when none is close.
func suggest(key string, md protoreflect.MessageDescriptor) string {
	var names []string
	best, bestD := "", 1<<30
	for i := 0; i < md.Fields().Len(); i++ {
		n := string(md.Fields().Get(i).Name())
		names = append(names, n)
		if d := distance(strings.ToLower(key), n); d < bestD {
			best, bestD = n, d
		}
		if strings.EqualFold(strings.ReplaceAll(key, "_", ""), strings.ReplaceAll(n, "_", "")) {
			best, bestD = n, 0
		}
	}
	if bestD <= 2 || bestD <= len(key)/3 {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	sort.Strings(names)
	return fmt.Sprintf(" (known keys: %s)", strings.Join(names, ", "))
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Marshal renders a config as YAML-compatible JSON (for `lbauthz validate
// --print`). Secret values are not part of a config, only file names.
func Marshal(cfg *configv1.Config) ([]byte, error) {
	js, err := protojson.MarshalOptions{UseProtoNames: true, Multiline: true}.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, js, "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
