package django

import (
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// FuzzSigner feeds arbitrary values to both decoders. Whatever the input:
// no panic, and either a session or a typed refusal naming its step.
func FuzzSigner(f *testing.F) {
	v := loadVectors(f)
	for _, s := range []string{v.SignedCookie, v.SmallSignedCookie, v.SessionData, v.LegacySessionData,
		v.PickledSessionData, v.OldKeySignedCookie, "a:b:c", ":", "MTIz", ".:0:"} {
		f.Add([]byte(s))
	}
	cookies := signer(f, SaltSignedCookies, v.Secret)
	stored := signer(f, SaltSessionStore, v.Secret)
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, _, err := cookies.Load(in, 24*time.Hour*365*100)
		if err == nil && doc == nil || err != nil && framework.StepOf(err) == "" {
			t.Fatalf("doc=%v err=%v", doc, err)
		}
		doc, err = stored.DecodeSessionData(in)
		if err == nil && doc == nil || err != nil && framework.StepOf(err) == "" {
			t.Fatalf("doc=%v err=%v", doc, err)
		}
	})
}
