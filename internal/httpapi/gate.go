package httpapi

import (
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// uploadGateWait is how long an upload waits for a free slot before it is
// turned away: long enough to ride out a neighbour's last second, short
// enough that a client is never left hanging on a busy server.
const uploadGateWait = 2 * time.Second

// uploadGateRetryAfter is the Retry-After sent with a 503 from the gate.
const uploadGateRetryAfter = 5

// gateUploads bounds how many multipart bodies (CSV/XLSX uploads) the
// server reads and parses at once. Each one costs several times its file
// size in memory while it is decoded, and the per-request limits alone do
// not stop twelve admins from sending twelve 10 MB files together. The slot
// is taken before the body is read, so a refused request costs nothing.
func (s *Server) gateUploads(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op.RequestBody == nil || op.RequestBody.Content["multipart/form-data"] == nil {
		next(ctx)
		return
	}
	timer := time.NewTimer(uploadGateWait)
	defer timer.Stop()
	select {
	case s.uploadSlots <- struct{}{}:
	case <-timer.C:
		ctx.SetHeader("Retry-After", strconv.Itoa(uploadGateRetryAfter))
		_ = huma.WriteErr(s.api, ctx, http.StatusServiceUnavailable,
			fmt.Sprintf("the server is reading %d other uploads; try again in a few seconds", cap(s.uploadSlots)))
		return
	case <-ctx.Context().Done():
		return
	}
	defer func() { <-s.uploadSlots }()
	next(ctx)
}

// defaultUploadConcurrency is one upload being parsed per core.
func defaultUploadConcurrency() int { return runtime.GOMAXPROCS(0) }
