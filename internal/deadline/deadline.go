// Package deadline says how long a piece of work may take so that its
// caller can still answer before its own deadline.
package deadline

import (
	"context"
	"time"
)

// Budget is how long work may take: limit, but ending before ctx's deadline
// with a margin (a tenth of the time left, between 5 ms and 50 ms), so the
// caller answers itself instead of the proxy timing it out. It is at least
// one millisecond.
func Budget(ctx context.Context, limit time.Duration) time.Duration {
	budget := limit
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		margin := min(max(left/10, 5*time.Millisecond), 50*time.Millisecond)
		budget = min(budget, left-margin)
	}
	return max(budget, time.Millisecond)
}
