package authz

import "go.uber.org/zap"

// Close releases what the engine holds (the session store's connections).
// Call it once no request uses the engine any more: after a reload has
// swapped it out and requests in flight on it have finished.
func (e *Engine) Close() {
	if err := e.opts.Sessions.Close(); err != nil {
		e.log.Warn("closing the session store", zap.Error(err))
	}
}
