package docs

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

// yamlBlocks returns the fenced ```yaml blocks of a Markdown file that are
// lbauthz configs (they set session:), each with the line it starts on.
func yamlBlocks(t *testing.T, file string) map[int]string {
	t.Helper()
	blocks := map[int]string{}
	var cur strings.Builder
	start, in := 0, false
	for _, l := range readLines(t, file) {
		switch {
		case !in && strings.TrimSpace(l.text) == "```yaml":
			in, start = true, l.n
			cur.Reset()
		case in && strings.TrimSpace(l.text) == "```":
			in = false
			if strings.Contains(cur.String(), "session:") {
				blocks[start] = cur.String()
			}
		case in:
			cur.WriteString(l.text + "\n")
		}
	}
	return blocks
}

// Every session config the README and the framework page show loads as it
// is (strictly: an unknown key or a bad value fails), with the Liveblocks key
// from the environment as a reader's deployment would give it.
func TestDocs_SessionConfigsLoad(t *testing.T) {
	env := func(k string) string {
		if k == "LIVEBLOCKS_SECRET_KEY" {
			return "sk_dev_docs"
		}
		return ""
	}
	n := 0
	for _, file := range []string{"README.md", "docs/sessions-frameworks.md"} {
		for line, block := range yamlBlocks(t, file) {
			n++
			if _, err := config.Parse(file, []byte(block), env); err != nil {
				t.Errorf("%s:%d: the config does not load: %v", file, line, err)
			}
		}
	}
	if n < 8 {
		t.Errorf("found %d session configs in the README and docs/sessions-frameworks.md, want at least 8", n)
	}
}
