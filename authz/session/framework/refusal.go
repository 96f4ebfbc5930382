package framework

import "errors"

// Steps at which a decoder refuses a session. Explain and the debug log show
// them, with the preset; they never hold the input or a secret.
const (
	StepMalformed   = "malformed"
	StepTooLarge    = "too large"
	StepBadMAC      = "bad signature"
	StepExpired     = "expired"
	StepPickled     = "pickled"
	StepObject      = "object"
	StepUnsupported = "unsupported"
)

// Refusal says why a decoder did not accept a session: the format (e.g.
// "django signed cookie"), the step that refused it (one of the Step
// constants) and an optional detail. No part of it is taken from the input.
type Refusal struct {
	Format string
	Step   string
	Detail string
}

func (r *Refusal) Error() string {
	s := r.Format + ": " + r.Step
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	return s
}

// Refuse returns a *Refusal.
func Refuse(format, step, detail string) error {
	return &Refusal{Format: format, Step: step, Detail: detail}
}

// StepOf returns the step of a *Refusal in err's chain, or "".
func StepOf(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Step
	}
	return ""
}
