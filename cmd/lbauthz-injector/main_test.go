package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRun_AnswersBadInputWithItsExitCode(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name   string
		args   []string
		exit   int
		stdout string
		stderr string
	}{
		{"VersionPrintsTheVersion", []string{"version"}, exitOK, "lbauthz-injector " + version + "\n", ""},
		{"UnknownFlagIsAUsageError", []string{"--nope"}, exitUsage, "", "flag provided but not defined: -nope"},
		{"ArgumentIsAUsageError", []string{"serve"}, exitUsage, "", `unexpected argument "serve"`},
		{"BadQuantityIsAUsageError", []string{"--memory-limit=lots"}, exitUsage, "", "memory-limit"},
		{"BadFrontDoorIsAUsageError", []string{"--front-door=haproxy"}, exitUsage, "", "haproxy"},
		{"MissingCertificateIsAnError", []string{"--tls-cert=" + missing, "--tls-key=" + missing}, exitError, "", missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(tc.args, &stdout, &stderr)
			if code != tc.exit || stdout.String() != tc.stdout || (tc.stderr != "" && !strings.Contains(stderr.String(), tc.stderr)) {
				t.Errorf("run %v: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q",
					tc.args, code, stdout.String(), stderr.String(), tc.exit, tc.stdout, tc.stderr)
			}
		})
	}
}
