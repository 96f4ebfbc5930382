package rooms_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lbauthz/lbauthz/authz/rooms"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

func orgRules(t *testing.T) *rooms.Rules {
	t.Helper()
	write, _ := structpb.NewList([]any{"*:write"})
	c, err := rooms.Compile(&configv1.Rooms{Provision: []*configv1.ProvisionRule{{
		Room:            "org-{org}:doc-{doc}",
		DefaultAccesses: []string{},
		GroupsAccesses:  map[string]*structpb.ListValue{"org-{org}": write},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return c.Rules
}

func client(t *testing.T, url string) *liveblocks.Client {
	t.Helper()
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: url, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

func TestProvisioner_CreatesTheRoomOnceWithTheRuleAccesses(t *testing.T) {
	dev, counter := authztest.DevServer(t)
	p := rooms.NewProvisioner(orgRules(t), client(t, counter.URL), rooms.ProvisionerOptions{})
	ctx := context.Background()

	out, err := p.Ensure(ctx, "org-acme:doc-1")
	if err != nil || out != rooms.Provisioned {
		t.Fatalf("Ensure = %v, %v", out, err)
	}
	room, err := client(t, dev.URL).GetRoom(ctx, "org-acme:doc-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(room.DefaultAccesses) != 0 || !reflect.DeepEqual(room.GroupsAccesses, map[string][]liveblocks.Permission{"org-acme": {liveblocks.Write}}) || len(room.UsersAccesses) != 0 {
		t.Fatalf("room accesses: default %v groups %v users %v", room.DefaultAccesses, room.GroupsAccesses, room.UsersAccesses)
	}

	calls := counter.Calls()
	out, err = p.Ensure(ctx, "org-acme:doc-1")
	if err != nil || out != rooms.Remembered {
		t.Fatalf("second Ensure = %v, %v", out, err)
	}
	if counter.Calls() != calls {
		t.Fatal("a provisioned room was sent to Liveblocks again")
	}

	out, err = p.Ensure(ctx, "lobby")
	if err != nil || out != rooms.NoRule || counter.Calls() != calls {
		t.Fatalf("room without rule: %v, %v, %d calls", out, err, counter.Calls()-calls)
	}
	if _, err := client(t, dev.URL).GetRoom(ctx, "lobby"); !errors.Is(err, liveblocks.ErrNotFound) {
		t.Fatalf("a room no rule matches was created (GetRoom: %v)", err)
	}
}

func TestProvisioner_ConcurrentFirstRequestsShareOneCall(t *testing.T) {
	_, counter := authztest.DevServer(t)
	p := rooms.NewProvisioner(orgRules(t), client(t, counter.URL), rooms.ProvisionerOptions{})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			if _, err := p.Ensure(context.Background(), "org-acme:doc-busy"); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if c := counter.Calls(); c != 1 {
		t.Fatalf("%d concurrent first requests made %d calls to Liveblocks, want 1", n, c)
	}
}

func TestProvisioner_LeavesAnExistingRoomAsItIs(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	lb := client(t, dev.URL)
	ctx := context.Background()
	if _, err := lb.CreateRoom(ctx, liveblocks.CreateRoomRequest{
		ID: "org-acme:doc-2", DefaultAccesses: []liveblocks.Permission{liveblocks.Read},
	}); err != nil {
		t.Fatal(err)
	}
	p := rooms.NewProvisioner(orgRules(t), lb, rooms.ProvisionerOptions{})
	if _, err := p.Ensure(ctx, "org-acme:doc-2"); err != nil {
		t.Fatal(err)
	}
	room, err := lb.GetRoom(ctx, "org-acme:doc-2")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(room.DefaultAccesses, []liveblocks.Permission{liveblocks.Read}) || len(room.GroupsAccesses) != 0 {
		t.Fatalf("the existing room was changed: default %v groups %v", room.DefaultAccesses, room.GroupsAccesses)
	}
}

// The dev server cannot be made unreachable while a test uses it, so a
// closed port stands in for Liveblocks being down.
func TestProvisioner_FailureIsNotRemembered(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := rooms.NewProvisioner(orgRules(t), client(t, "http://"+addr), rooms.ProvisionerOptions{Timeout: time.Second})
	for i := range 2 {
		if _, err := p.Ensure(context.Background(), "org-acme:doc-3"); err == nil {
			t.Fatalf("attempt %d: Ensure succeeded with Liveblocks down", i)
		}
	}
}

func TestProvisioner_CallerDeadlineEndsTheWait(t *testing.T) {
	// A listener that accepts and never answers: Liveblocks hanging. The dev
	// server cannot be made to hang.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p := rooms.NewProvisioner(orgRules(t), client(t, "http://"+l.Addr().String()), rooms.ProvisionerOptions{Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := p.Ensure(ctx, "org-acme:doc-4"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Ensure returned after %s, past the caller's 100ms deadline", el)
	}
}
