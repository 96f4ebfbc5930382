package docs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// root is the repository root, seen from this package's folder (go test runs
// in it).
const root = ".."

// maxReadmeLines is how long the README may grow: an introduction, not the
// manual. The rest belongs in docs/.
const maxReadmeLines = 300

// pages returns the Markdown files whose links are checked, relative to root:
// the README, the changelog, every page of docs/, and the deploy guides.
func pages(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", "CHANGELOG.md", "deploy/README.md", "deploy/nginx/README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range more {
		rel, err := filepath.Rel(root, m)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	return files
}

// prose returns a Markdown file's lines outside fenced code blocks, each with
// its line number.
func prose(t *testing.T, file string) []numberedLine {
	t.Helper()
	var out []numberedLine
	for _, l := range readLines(t, file) {
		if !l.code {
			out = append(out, l)
		}
	}
	return out
}

// readLines returns every line of a Markdown file with its line number,
// marking those inside fenced code blocks (the fences included).
func readLines(t *testing.T, file string) []numberedLine {
	t.Helper()
	f, err := os.Open(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []numberedLine
	fence := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			out = append(out, numberedLine{n, line, true})
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			out = append(out, numberedLine{n, line, true})
			continue
		}
		out = append(out, numberedLine{n, line, false})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	return out
}

type numberedLine struct {
	n    int
	text string
	code bool // inside a fenced code block
}

var (
	codeSpan  = regexp.MustCompile("`[^`]*`")
	linkTo    = regexp.MustCompile(`\]\(([^()\s]+)(?:\s+"[^"]*")?\)`)
	inlineMD  = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	headingRE = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	schemeRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// links returns the targets of a line's inline links and images, leaving out
// code spans (where `[a](b)` is an example, not a link).
func links(line string) []string {
	var out []string
	for _, m := range linkTo.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, "``"), -1) {
		out = append(out, m[1])
	}
	return out
}

// anchors returns the heading anchors GitHub gives a Markdown file: the
// heading's text without its Markdown, lower-cased, with spaces turned into
// hyphens and every other character that is not a letter, digit, hyphen or
// underscore dropped; a repeated anchor gets -1, -2, ...
func anchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range prose(t, file) {
		m := headingRE.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		a := slug(m[2])
		if k := seen[a]; k > 0 {
			out[fmt.Sprintf("%s-%d", a, k)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func slug(heading string) string {
	text := inlineMD.ReplaceAllString(heading, "$1")
	text = strings.NewReplacer("`", "", "*", "").Replace(text)
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestReadme_IsAtMostThreeHundredLines(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n > maxReadmeLines {
		t.Errorf("README.md has %d lines, more than %d: move detail into docs/ and link to it", n, maxReadmeLines)
	}
}

func TestDocs_RelativeLinksLeadToExistingFilesAndHeadings(t *testing.T) {
	anchorsOf := map[string]map[string]bool{}
	for _, page := range pages(t) {
		for _, l := range prose(t, page) {
			for _, target := range links(l.text) {
				if schemeRE.MatchString(target) {
					continue // a web address: not checked here
				}
				path, anchor, _ := strings.Cut(target, "#")
				file := page
				if path != "" {
					file = filepath.ToSlash(filepath.Join(filepath.Dir(page), path))
					if strings.HasPrefix(file, "../") {
						t.Errorf("%s:%d: link %q leaves the repository", page, l.n, target)
						continue
					}
					if _, err := os.Stat(filepath.Join(root, file)); err != nil {
						t.Errorf("%s:%d: link %q: no file %s", page, l.n, target, file)
						continue
					}
				}
				if anchor == "" || !strings.HasSuffix(file, ".md") {
					continue
				}
				if anchorsOf[file] == nil {
					anchorsOf[file] = anchors(t, file)
				}
				if !anchorsOf[file][anchor] {
					t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", page, l.n, target, file, anchor)
				}
			}
		}
	}
}

// Figures of a benchmark run belong in bench/results, written by make bench;
// a copy in a page is out of date at the next run. These patterns catch the
// shapes such a copy takes.
var (
	// go test -bench output, or a figure with its unit: "118.1 ns/op", "0 allocs/op", "62892 req/s".
	figureWithUnit = regexp.MustCompile(`\d\s*(ns/op|B/op|allocs/op|req/s)\b`)
	// A table column of measured figures.
	figureColumn = regexp.MustCompile(`(?i)ns/op|allocs/op|req/s|rss mb|cpu ms|p50 ms|p99 ms`)
	number       = regexp.MustCompile(`\d`)
)

// copiedFigures returns the lines of a page that hold benchmark figures: a
// figure with its benchmark unit (in code blocks too, where go test's output
// would be pasted), or a data row of a table whose header names a column of
// measured figures.
func copiedFigures(lines []numberedLine) []numberedLine {
	var out []numberedLine
	inFigureTable := false
	for i, l := range lines {
		text := strings.TrimSpace(l.text)
		isRow := !l.code && strings.HasPrefix(text, "|")
		switch {
		case !isRow:
			inFigureTable = false
		case i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1].text), "|"):
			inFigureTable = figureColumn.MatchString(text) // a table's header row
		case inFigureTable && number.MatchString(strings.Trim(text, "|-: ")):
			out = append(out, l)
			continue
		}
		if figureWithUnit.MatchString(codeSpan.ReplaceAllString(l.text, "``")) {
			out = append(out, l)
		}
	}
	return out
}

func TestCopiedFigures_FindsBenchmarkTablesAndOutput(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		code  bool
		want  int
	}{
		{"go test -bench output in a code block", []string{"BenchmarkResolve_CacheHit-2   	19734445	       119.5 ns/op	       0 B/op	       0 allocs/op"}, true, 1},
		{"table of Go benchmarks", []string{"| benchmark | ns/op | B/op | allocs/op |", "|---|--:|--:|--:|", "| `Check_PassThroughJWTSession` | 355 | 0 | 0 |", "| `Deny` | 124 | 96 | 2 |"}, false, 2},
		{"table of make bench results", []string{"| case | door | req/s (saturation) | × base |", "|---|---|--:|--:|", "| floor | floor server | 65042 | 1 |"}, false, 1},
		{"memory table", []string{"| state | RSS MB |", "|---|--:|", "| idle, after start | 24.9 |"}, false, 1},
		{"rate in prose", []string{"lbauthz answered 62892 req/s at saturation."}, false, 1},
		{"table of targets without figures", []string{"| target | limit |", "|---|---|", "| RSS idle | < 30 MB |"}, false, 0},
		{"table of benchmark names", []string{"| benchmark | what it measures |", "|---|---|", "| `Deny` | building a refusal |"}, false, 0},
		{"how to read req/s", []string{"| figure | meaning |", "|---|---|", "| req/s (saturation) | requests answered per second |"}, false, 0},
		{"a unit in a code span", []string{"the Go benchmarks report `ns/op` and `allocs/op`"}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []numberedLine
			for i, l := range tt.lines {
				lines = append(lines, numberedLine{i + 1, l, tt.code})
			}
			if got := copiedFigures(lines); len(got) != tt.want {
				t.Errorf("found %d lines with figures, want %d: %v", len(got), tt.want, got)
			}
		})
	}
}

func TestDocs_HoldNoBenchmarkFiguresCopiedByHand(t *testing.T) {
	results, err := os.ReadFile(filepath.Join(root, "bench", "results", "latest.md"))
	if err != nil {
		t.Fatal(err)
	}
	resultRows := map[string]bool{}
	for _, l := range strings.Split(string(results), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "|") && number.MatchString(l) {
			resultRows[l] = true
		}
	}
	for _, page := range pages(t) {
		if page == "CHANGELOG.md" {
			continue // history: a change's before and after are part of it
		}
		lines := readLines(t, page)
		for _, l := range copiedFigures(lines) {
			t.Errorf("%s:%d: benchmark figures copied by hand (link to bench/results/latest.md instead): %s", page, l.n, l.text)
		}
		for _, l := range lines {
			if resultRows[strings.TrimSpace(l.text)] {
				t.Errorf("%s:%d: a row copied from bench/results/latest.md: %s", page, l.n, l.text)
			}
		}
	}
}
