package deadline

import (
	"context"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	if got := Budget(context.Background(), 5*time.Second); got != 5*time.Second {
		t.Fatalf("without a deadline: %s, want the limit", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if got := Budget(ctx, 5*time.Second); got > 181*time.Millisecond || got < 150*time.Millisecond {
		t.Fatalf("200ms deadline: %s, want about 180ms (20ms margin)", got)
	}
	if got := Budget(ctx, 10*time.Millisecond); got != 10*time.Millisecond {
		t.Fatalf("a limit under the deadline: %s", got)
	}
	past, cancel2 := context.WithTimeout(context.Background(), -time.Second)
	defer cancel2()
	if got := Budget(past, time.Second); got != time.Millisecond {
		t.Fatalf("past deadline: %s, want 1ms", got)
	}
}
