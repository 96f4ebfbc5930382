package authztest

// doorCases are the attacks on how the doors read cookies and write
// identity headers, appended to the attack table.
func (a *Attacks) doorCases() []Case {
	valid := "session=" + a.Session(nil, AliceClaims())
	// Mallory's own, genuine session: what a sibling subdomain or an http://
	// origin she controls can put inside a cookie of its own.
	mallorys := "session=" + a.Session(nil, with(AliceClaims(), "sub", "mallory"))
	room := `{"room":"r1"}`
	anonymous := Outcome{Allowed: true, Status: 200}
	alice := Outcome{Allowed: true, Status: 200, UserID: "alice"}

	var cases []Case
	// The app's cookie parser sees one cookie called theme: a name after a
	// "," never picks the session, and never locks the owner of a real one
	// out either.
	for _, c := range []struct {
		name, cookie string
		page, auth   Outcome
	}{
		{"WithMallorysSessionInsideAnotherCookie", "theme=1, " + mallorys, anonymous, Outcome{Status: 401}},
		{"WithMallorysSessionInsideAnotherCookieWithoutSpace", "theme=1," + mallorys, anonymous, Outcome{Status: 401}},
		// Pages only: Alice's token budget (auth_limits.per_user) is
		// spent by the rest of the table.
		{"WithAlicesSessionAndMallorysInsideAnotherCookie", valid + "; theme=1, " + mallorys, alice, Outcome{}},
		{"WithMallorysInsideAnotherCookieBeforeAlicesSession", "theme=1, " + mallorys + "; " + valid, alice, Outcome{}},
	} {
		cases = append(cases, Case{Name: "Page" + c.name, Method: "GET", Path: "/docs", Cookie: c.cookie, Header: SpoofedIdentity, Want: c.page})
		if c.auth != (Outcome{}) {
			cases = append(cases, Case{Name: "AuthPath" + c.name, Method: "POST", Path: AuthPath, Cookie: c.cookie, Body: room, Want: c.auth})
		}
	}
	// Identity headers spelt with underscores, which CGI-style apps read as
	// the dashed ones: never reach the app, with a session or without.
	underscored := map[string]string{"X_User_Id": "mallory", "X_User_Groups": "admins", "X_User_Info": `{"name":"Mallory"}`}
	cases = append(cases,
		Case{Name: "PageWithUnderscoredIdentityHeadersPassesAnonymous", Method: "GET", Path: "/docs", Header: underscored, Want: anonymous},
		Case{Name: "PageWithUnderscoredIdentityHeadersAndASessionPassesAsAlice", Method: "GET", Path: "/docs", Cookie: valid, Header: underscored, Want: alice},
	)
	// A group id holding the "," that joins the groups header would reach
	// the app as several groups (eng, admin) while Liveblocks gets one: it
	// is dropped, and the app sees the other groups only.
	commaGroup := "session=" + a.Session(nil, with(AliceClaims(), "groups", []any{"eng,admin", "x"}))
	spacedGroup := "session=" + a.Session(nil, with(AliceClaims(), "groups", []any{" admin", "x"}))
	cases = append(cases,
		Case{Name: "PageWithACommaInsideAGroupIDShowsTheOtherGroupsOnly", Method: "GET", Path: "/docs", Cookie: commaGroup,
			Header: SpoofedIdentity, Want: Outcome{Allowed: true, Status: 200, UserID: "alice", Groups: "x"}},
		Case{Name: "PageWithSpacesAroundAGroupIDShowsTheOtherGroupsOnly", Method: "GET", Path: "/docs", Cookie: spacedGroup,
			Header: SpoofedIdentity, Want: Outcome{Allowed: true, Status: 200, UserID: "alice", Groups: "x"}},
		Case{Name: "PageWithOrdinaryGroupsShowsThemAll", Method: "GET", Path: "/docs", Cookie: valid,
			Header: SpoofedIdentity, Want: Outcome{Allowed: true, Status: 200, UserID: "alice", Groups: "team,eng"}},
	)
	return cases
}
