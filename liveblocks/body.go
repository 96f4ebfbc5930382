package liveblocks

import (
	"bytes"
	"encoding/json"
	"sync"
)

// jsonBody builds a JSON object field by field. The token endpoints are on
// the request path of every page load, so their bodies are written into a
// pooled buffer instead of through an intermediate struct.
type jsonBody struct {
	buf    bytes.Buffer
	enc    *json.Encoder
	fields int
}

var jsonBodies = sync.Pool{New: func() any {
	b := new(jsonBody)
	b.enc = json.NewEncoder(&b.buf)
	// JSON.stringify does not escape <, > and &, and userInfo is measured
	// as Liveblocks measures it.
	b.enc.SetEscapeHTML(false)
	return b
}}

// maxPooledBody keeps an unusually large body from pinning its buffer.
const maxPooledBody = 64 << 10

func getJSONBody() *jsonBody {
	b := jsonBodies.Get().(*jsonBody)
	b.buf.Reset()
	b.fields = 0
	b.buf.WriteByte('{')
	return b
}

func putJSONBody(b *jsonBody) {
	if b.buf.Cap() <= maxPooledBody {
		jsonBodies.Put(b)
	}
}

// field writes "name":value and returns the encoded value, which stays valid
// until the next write. name must not need escaping.
func (b *jsonBody) field(name string, v any) ([]byte, error) {
	if b.fields > 0 {
		b.buf.WriteByte(',')
	}
	b.fields++
	b.buf.WriteByte('"')
	b.buf.WriteString(name)
	b.buf.WriteString(`":`)
	start := b.buf.Len()
	if err := b.enc.Encode(v); err != nil {
		return nil, err
	}
	b.buf.Truncate(b.buf.Len() - 1) // Encode's trailing newline
	return b.buf.Bytes()[start:], nil
}

// bytes closes the object and returns a copy of it that the caller owns: the
// HTTP transport may still read a request body after the call returns, so
// the pooled buffer cannot be handed to it.
func (b *jsonBody) bytes() []byte {
	b.buf.WriteByte('}')
	return bytes.Clone(b.buf.Bytes())
}
