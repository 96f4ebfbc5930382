package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/internal/assemble"
)

const explainUsage = `Usage: lbauthz explain --config FILE --cookie COOKIE [flags]

Prints what the sidecar decides for a request and why: the session found,
the identity it maps to, the headers the app gets, and for a token request
the room's accesses and the call to Liveblocks. The cookie's value and any
token are never printed. Liveblocks is not called unless --call-liveblocks
is given; the session store is asked as the sidecar asks it.

COOKIE is the Cookie header as the browser sends it ("a=1; session=..."),
or the session cookie's value alone; "-" reads it from standard input, which
keeps it out of the shell's history.

Flags:
`

func cmdExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, explainUsage); fs.PrintDefaults() }
	path := fs.String("config", "", "config file (YAML)")
	cookie := fs.String("cookie", "", `the Cookie header, the session cookie's value, or "-" to read it from standard input`)
	method := fs.String("method", "", "the request's method (default POST on the auth path, GET elsewhere)")
	reqPath := fs.String("path", "", "the request's path (default the auth path)")
	room := fs.String("room", "", `the room of a token request: the body is {"room": ROOM}`)
	origin := fs.String("origin", "", "the request's Origin header")
	fetchSite := fs.String("sec-fetch-site", "", "the request's Sec-Fetch-Site header")
	host := fs.String("host", "", "the request's Host header")
	callLB := fs.Bool("call-liveblocks", false, "make the calls to Liveblocks (provisioning, the token) and read the room's accesses")
	asJSON := fs.Bool("json", false, "print the explanation as JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "how long the session lookup and Liveblocks calls may take")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "lbauthz explain: --config is required, and takes no arguments")
		return exitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz explain: %v\n", err)
		return exitError
	}
	sec, err := config.ReadSecrets(cfg, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz explain: %v\n", err)
		return exitError
	}
	engine, err := assemble.Engine(cfg, sec, zap.NewNop())
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz explain: %v\n", err)
		return exitError
	}
	defer engine.Close()

	value := *cookie
	if value == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintln(stderr, "lbauthz explain: reading the cookie from standard input failed")
			return exitError
		}
		value = strings.TrimSpace(line)
	}
	r := &authz.Request{Door: "explain", Path: *reqPath, Method: *method,
		Cookie: cookieHeader(value, cfg.Session.Cookie), Origin: *origin, SecFetchSite: *fetchSite, Host: *host}
	if r.Path == "" {
		r.Path = engine.AuthPath()
	}
	if r.Method == "" {
		r.Method = "GET"
		if engine.IsAuthPath(r.Path) {
			r.Method = "POST"
		}
	}
	if engine.IsAuthPath(r.Path) && r.Method == "POST" {
		body := []byte("{}")
		if *room != "" {
			body, _ = json.Marshal(map[string]string{"room": *room})
		}
		r.Body, r.HasBody = body, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	x := engine.Explain(ctx, r, authz.ExplainOptions{CallLiveblocks: *callLB})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(x)
		return exitOK
	}
	printExplanation(stdout, x)
	return exitOK
}

// cookieHeader makes a Cookie header of the flag's value: as given when it
// names the session cookie, else as that cookie's value.
func cookieHeader(v, name string) string {
	if v == "" {
		return ""
	}
	for part := range strings.SplitSeq(v, ";") {
		if k, _, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.TrimSpace(k) == name {
			return v
		}
	}
	return name + "=" + v
}

func printExplanation(w io.Writer, x *authz.Explanation) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-12s%s\n", label, fmt.Sprintf(format, args...))
	}
	more := func(format string, args ...any) { line("", format, args...) }

	kind := "a pass-through request (the app answers it)"
	if x.Request.AuthPath {
		kind = "the auth path (the sidecar answers it)"
	} else if x.Request.Directory {
		kind = "a directory request (the sidecar answers it for a signed-in user)"
	}
	line("Request", "%s %s: %s", x.Request.Method, x.Request.Path, kind)
	if x.Cookie != "" {
		line("Cookie", "%s", x.Cookie)
	}
	if s := x.Session; s != nil {
		text := s.Result + " (store " + s.Store + ")"
		if s.Reason != "" {
			text += ": " + s.Reason
		}
		if s.Expires != nil {
			text += ", expires " + s.Expires.UTC().Format(time.RFC3339)
		}
		line("Session", "%s", text)
	}
	if id := x.Identity; id != nil {
		line("Identity", "user %s", id.UserID)
		groups := "(none)"
		if len(id.GroupIDs) > 0 {
			groups = strings.Join(id.GroupIDs, ", ")
		}
		more("groups %s", groups)
		if len(id.UserInfo) > 0 {
			b, _ := json.Marshal(id.UserInfo)
			more("user info %s", b)
		}
		if id.Problem != "" {
			more("problem: %s", id.Problem)
		}
	}
	if x.Room != "" {
		line("Room", "%s", x.Room)
	}
	if p := x.Provision; p != nil {
		switch {
		case !p.Rule:
			line("Provision", "no rule of rooms.provision matches the room: it is left as it is")
		default:
			line("Provision", "a rule matches; a room created now gets:")
			printAccesses(more, p.Accesses)
		}
		if p.Outcome != "" {
			text := p.Outcome
			if p.Error != "" {
				text += ": " + p.Error
			}
			more("outcome: %s", text)
		}
	}
	if a := x.RoomAccesses; a != nil {
		line("Room now", "the room's accesses in Liveblocks:")
		printAccesses(more, a)
	}
	if len(x.Permissions) > 0 {
		line("Permissions", "the access token covers:")
		for _, pattern := range sortedKeys(x.Permissions) {
			more("  %s  %s", pattern, strings.Join(x.Permissions[pattern], ", "))
		}
	}
	if c := x.Liveblocks; c != nil {
		sent := "not sent"
		if c.Sent {
			sent = "sent"
		}
		b, _ := json.Marshal(c.Body)
		line("Liveblocks", "%s (%s)", c.Endpoint, sent)
		more("%s", b)
	}
	d := x.Decision
	text := fmt.Sprintf("%s, status %d", d.Outcome, d.Status)
	if d.Allow {
		text = fmt.Sprintf("%s: the request goes on to the app", d.Outcome)
	}
	if d.Reason != "" {
		text += " (" + d.Reason + ")"
	}
	line("Decision", "%s", text)
	if len(d.Headers) > 0 {
		label := "Headers"
		if d.Allow {
			label = "To the app"
		}
		for i, h := range d.Headers {
			l := ""
			if i == 0 {
				l = label
			}
			if h.Remove {
				line(l, "%s removed", h.Name)
			} else {
				line(l, "%s: %s", h.Name, h.Value)
			}
		}
	}
	if d.Token != nil {
		b, _ := json.Marshal(d.Token)
		line("Token", "claims %s (the token itself is not shown)", b)
	}
	if d.Body != "" {
		line("Body", "%s", d.Body)
	}
	for i, n := range x.Notes {
		l := ""
		if i == 0 {
			l = "Notes"
		}
		line(l, "- %s", n)
	}
}

func printAccesses(more func(string, ...any), a *authz.ExplainedAccesses) {
	if a == nil {
		return
	}
	def := "(no access)"
	if len(a.Default) > 0 {
		def = strings.Join(a.Default, ", ")
	}
	more("  default      %s", def)
	for _, g := range sortedKeys(a.Groups) {
		more("  group %-6s %s", g, strings.Join(a.Groups[g], ", "))
	}
	for _, u := range sortedKeys(a.Users) {
		more("  user %-7s %s", u, strings.Join(a.Users[u], ", "))
	}
	if a.Applies != "" {
		eff := "(no access)"
		if len(a.Effective) > 0 {
			eff = strings.Join(a.Effective, ", ")
		}
		more("  applies: %s -> %s", a.Applies, eff)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
