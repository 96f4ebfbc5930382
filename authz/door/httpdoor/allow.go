package httpdoor

import (
	"math/bits"
	"net/http"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/session"
)

// allowForms are what the check doors' allowing answers of one engine are
// made of: the identity header names in the forms the doors write, and the
// header values of the sessions in use, prepared once each.
//
// keys are the canonical keys for net/http's header map; names the
// configured (lower-case) names; remove the values of Envoy's
// x-envoy-auth-headers-to-remove, indexed by which identity headers the
// answer sets (bit i for names[i]; 0 for a request without identity).
//
// The prepared values sit in a small two-way set-associative table indexed
// by the identity's address, as the gRPC door's answers do: a session that
// sends requests finds its values there without allocating, and the table's
// memory stays bounded whatever the number of cached sessions.
type allowForms struct {
	engine *authz.Engine
	keys   [3]string // user id, groups, user info; "" when not used
	names  [3]string
	remove [8]string
	slots  []atomic.Pointer[allowValues]
	shift  uint // 64 - log2(len(slots))
}

// Bounds of the table of prepared values, in slots: twice the session
// cache's entries, between these. At 128 bytes a session, the table holds
// at most about half a megabyte.
const (
	minSlots = 64
	maxSlots = 4096
)

// allowForms returns the forms of e, built once per engine.
func (h *Handler) allowForms(e *authz.Engine) *allowForms {
	if f := h.forms.Load(); f != nil && f.engine == e {
		return f
	}
	f := newAllowForms(e)
	if h.engines.Engine() == e {
		h.forms.Store(f)
	}
	return f
}

func newAllowForms(e *authz.Engine) *allowForms {
	n := e.Headers()
	f := &allowForms{engine: e, names: [3]string{n.UserID, n.GroupIDs, n.UserInfo}}
	for i, name := range f.names {
		f.keys[i] = http.CanonicalHeaderKey(name)
	}
	for set := range f.remove {
		var remove []string
	names:
		for _, name := range e.HeaderNamesToRemove() {
			for i := range f.names {
				if set&(1<<i) != 0 && strings.EqualFold(f.names[i], name) {
					continue names
				}
			}
			remove = append(remove, name)
		}
		f.remove[set] = strings.Join(remove, ",")
	}
	slots := minSlots
	if want := 2 * e.Sessions().MaxEntries(); want > slots {
		slots = min(1<<bits.Len(uint(want-1)), maxSlots)
	}
	f.slots = make([]atomic.Pointer[allowValues], slots)
	f.shift = uint(64 - bits.TrailingZeros(uint(slots)))
	return f
}

// allowValues are the identity header values of one identity's answer, each
// a one-element slice the header map takes as it is: net/http only reads
// them (it copies the map when the header is written), and a handler that
// appends to one gets a new slice, the capacity being full.
type allowValues struct {
	id   *session.Identity
	n    int          // how many of keys and vals are set, in order
	keys [3]string    // canonical keys of the headers set
	vals [3][1]string // their values
	// remove is Envoy's x-envoy-auth-headers-to-remove for this answer:
	// every other identity header name ("" when there is none).
	remove [1]string
}

// values returns the prepared values of id.
func (f *allowForms) values(id *session.Identity) *allowValues {
	// Fibonacci hashing of the address, rounded down to the first slot of
	// its set of two. The address is only hashed, never turned back into a
	// pointer: the slot holds the identity itself.
	i := int(uint64(uintptr(unsafe.Pointer(id)))*0x9E3779B97F4A7C15>>f.shift) &^ 1
	for j := i; j < i+2; j++ {
		if v := f.slots[j].Load(); v != nil && v.id == id {
			return v
		}
	}
	v := f.prepare(id)
	// An empty slot of the set, else the one the address picks: two busy
	// sessions sharing a set then usually keep one each.
	j := i + int(uintptr(unsafe.Pointer(id))>>4&1)
	if f.slots[i].Load() == nil {
		j = i
	} else if f.slots[i+1].Load() == nil {
		j = i + 1
	}
	f.slots[j].Store(v)
	return v
}

// prepare builds the values of id's answer: a header without a value is not
// sent.
func (f *allowForms) prepare(id *session.Identity) *allowValues {
	v := &allowValues{id: id}
	set := 0 // bit i: header i is set
	for i, val := range [3]string{id.UserID, id.GroupsHeader, id.UserInfoJSON} {
		if f.keys[i] != "" && val != "" {
			set |= 1 << i
			v.keys[v.n], v.vals[v.n][0] = f.keys[i], val
			v.n++
		}
	}
	v.remove[0] = f.remove[set]
	return v
}
