package authz

import "sync/atomic"

// EngineSource gives the engine to use for one request. Hot reload swaps the
// engine behind it; a request keeps the one it started with.
type EngineSource interface {
	Engine() *Engine
}

// Holder holds the engine in use and swaps it atomically; requests keep the
// engine they started with.
type Holder struct{ p atomic.Pointer[Engine] }

var _ EngineSource = (*Holder)(nil)

// NewHolder returns a holder of e.
func NewHolder(e *Engine) *Holder {
	h := &Holder{}
	h.p.Store(e)
	return h
}

// Engine returns the engine in use.
func (h *Holder) Engine() *Engine { return h.p.Load() }

// Swap puts e in use and returns the engine it replaces.
func (h *Holder) Swap(e *Engine) *Engine { return h.p.Swap(e) }
