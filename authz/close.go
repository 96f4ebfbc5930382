package authz

import "go.uber.org/zap"

// Close releases what the engine holds (the session stores' and the
// directory's connections).
// Call it once no request uses the engine any more: after a reload has
// swapped it out and requests in flight on it have finished.
func (e *Engine) Close() {
	for i := range e.sources {
		if err := e.sources[i].Sessions.Close(); err != nil {
			e.log.Warn("closing a session store", zap.Int("source", i), zap.Error(err))
		}
	}
	if e.opts.Directory != nil {
		e.opts.Directory.Close()
	}
}
