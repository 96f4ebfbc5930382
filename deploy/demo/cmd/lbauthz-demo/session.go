package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// demoSession signs a demo session JWT (HS256) for a user, with the claims
// the demo app (deploy/demo/app.mjs) puts in its own sessions; the avatar is
// served by that app, so the demo needs no network.
func demoSession(sub, name string, groups []string, ttl time.Duration) string {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "name": name, "groups": groups,
		"picture": "/avatars/" + url.PathEscape(sub) + ".svg",
		"iat":     now.Unix(), "exp": now.Add(ttl).Unix(),
	})
	signed, _ := tok.SignedString([]byte(demoHMACSecret)) // HS256 with a []byte key cannot fail
	return signed
}

// cmdSession prints a session cookie value signed with the demo key, for
// trying the demo by hand: lbauthz-demo session alice team.
func cmdSession(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: lbauthz-demo session USER [GROUP...]  (a session for `lbauthz-demo serve` only)")
		return exitUsage
	}
	fmt.Fprintln(stdout, demoSession(args[0], displayName(args[0]), args[1:], 12*time.Hour))
	return exitOK
}

// displayName is a user id with its first letter in upper case ("élodie"
// gives "Élodie"): the first rune, not the first byte.
func displayName(user string) string {
	r, size := utf8.DecodeRuneInString(user)
	if r == utf8.RuneError {
		return user
	}
	return string(unicode.ToUpper(r)) + user[size:]
}
