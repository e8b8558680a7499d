package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/roster-dev/roster/internal/registry"
)

// IdempotencyHeader lets a client retry an upload or a report request
// without making a second one.
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the key: a UUID is 36 characters.
const maxIdempotencyKey = 128

const idempotentMeta = "idempotent"

// idempotent marks an operation as honouring Idempotency-Key and documents
// the header and the answers it adds.
func idempotent(o huma.Operation) huma.Operation {
	if o.Metadata == nil {
		o.Metadata = map[string]any{}
	}
	o.Metadata[idempotentMeta] = true
	o.Parameters = append(o.Parameters, &huma.Param{
		Name: IdempotencyHeader, In: "header",
		Description: "A key of your choice (for example a UUID), at most 128 characters. A retry with the same key " +
			"returns the first answer instead of doing the work again, for 24 hours. The same key with a different " +
			"request is refused (422); while the first request runs, a retry gets 409.",
		Schema: &huma.Schema{Type: "string", MaxLength: ptr(maxIdempotencyKey)},
	})
	o.Errors = append(o.Errors, http.StatusConflict, http.StatusUnprocessableEntity)
	return o
}

func ptr[T any](v T) *T { return &v }

// honourIdempotencyKey replays the first answer to a request carrying a
// key the caller already used for the operation. It runs last, after the
// caller is known and the body passed its bounds.
func (s *Server) honourIdempotencyKey(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	key := ctx.Header(IdempotencyHeader)
	p := caller(ctx.Context())
	if op.Metadata[idempotentMeta] != true || key == "" || p == nil {
		next(ctx)
		return
	}
	if len(key) > maxIdempotencyKey {
		_ = huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, "validation failed",
			&huma.ErrorDetail{Location: "header." + IdempotencyHeader, Message: "must be at most 128 characters"})
		return
	}
	r, _ := humago.Unwrap(ctx)
	if op.BodyReadTimeout > 0 {
		_ = ctx.SetReadDeadline(time.Now().Add(op.BodyReadTimeout))
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, op.MaxBodyBytes+1))
	r.Body.Close()
	if err != nil {
		_ = huma.WriteErr(s.api, ctx, http.StatusBadRequest, "the request body could not be read")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	hash := requestHash(r, data)
	first, err := s.reg.ClaimIdempotency(ctx.Context(), p, op.OperationID, key, hash)
	if err != nil {
		s.writeProblem(ctx, s.apiError(ctx.Context(), err))
		return
	}
	if first != nil {
		ctx.SetHeader("Content-Type", first.ContentType)
		ctx.SetHeader("Idempotent-Replayed", "true")
		ctx.SetStatus(first.Status)
		_, _ = ctx.BodyWriter().Write(first.Body)
		return
	}
	rec := &recordingContext{humaContext: ctx}
	next(rec)
	// The answer is kept even if the client has gone: the work is done.
	bg := context.WithoutCancel(ctx.Context())
	if rec.status == 0 || rec.status >= 500 {
		if err := s.reg.ReleaseIdempotency(bg, p, op.OperationID, key); err != nil {
			s.log.Error("release idempotency key", "operation", op.OperationID, "error", err)
		}
		return
	}
	if err := s.reg.FinishIdempotency(bg, p, op.OperationID, key, registry.IdempotentAnswer{
		Status: rec.status, ContentType: rec.contentType, Body: rec.body.Bytes(),
	}); err != nil {
		s.log.Error("store idempotency answer", "operation", op.OperationID, "error", err)
	}
}

// requestHash identifies what was asked: the query and the body. A
// multipart body is hashed part by part, because a client's retry may
// choose a new boundary for the same form.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	io.WriteString(h, r.URL.RawQuery+"\n")
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		if hashParts(h, multipart.NewReader(bytes.NewReader(body), params["boundary"])) == nil {
			return hex.EncodeToString(h.Sum(nil))
		}
		h.Reset()
		io.WriteString(h, r.URL.RawQuery+"\n")
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func hashParts(w io.Writer, mr *multipart.Reader) error {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		inner := sha256.New()
		if _, err := io.Copy(inner, part); err != nil {
			return err
		}
		io.WriteString(w, part.FormName()+"\x00"+part.FileName()+"\x00"+hex.EncodeToString(inner.Sum(nil))+"\n")
	}
}

// humaContext names the embedded context so its Context method is not
// hidden by a field of the same name.
type humaContext = huma.Context

// recordingContext keeps a copy of the answer written through it.
type recordingContext struct {
	humaContext
	status      int
	contentType string
	body        bytes.Buffer
}

func (c *recordingContext) Unwrap() huma.Context { return c.humaContext }

func (c *recordingContext) SetStatus(code int) {
	c.status = code
	c.humaContext.SetStatus(code)
}

func (c *recordingContext) SetHeader(name, value string) {
	if strings.EqualFold(name, "Content-Type") {
		c.contentType = value
	}
	c.humaContext.SetHeader(name, value)
}

func (c *recordingContext) BodyWriter() io.Writer {
	return io.MultiWriter(c.humaContext.BodyWriter(), &c.body)
}

// writeProblem writes an error apiError made, outside a handler.
func (s *Server) writeProblem(ctx huma.Context, err error) {
	var se huma.StatusError
	if !errors.As(err, &se) {
		se = huma.Error500InternalServerError("internal error")
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(se.GetStatus())
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(se)
}
