package sunbird

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/roster-dev/roster"
)

// envelope is Sunbird's response body. Field names and order follow
// Sunbird-Lern/userorg-service
// core/platform-common/src/main/java/org/sunbird/response/Response.java and
// ResponseParams.java.
type envelope struct {
	ID           string `json:"id"`
	Ver          string `json:"ver"`
	Ts           string `json:"ts"`
	Params       params `json:"params"`
	ResponseCode string `json:"responseCode"`
	Result       any    `json:"result"`
}

// params carries the request id twice: Sunbird sets both resmsgid and msgid
// to the X-Request-ID the gateway sent (controller/app/util/Common.java
// createResponseParamObj). err and errmsg are null on success.
type params struct {
	ResMsgID string  `json:"resmsgid"`
	MsgID    string  `json:"msgid"`
	Err      *string `json:"err"`
	Status   string  `json:"status"`
	ErrMsg   *string `json:"errmsg"`
}

// sunbirdTime formats t as Java's "yyyy-MM-dd HH:mm:ss:SSSZ"
// (ProjectUtil.getFormattedDate): a colon before the milliseconds, which Go
// layouts cannot express, and a zone without a colon.
func sunbirdTime(t time.Time) string {
	return t.Format("2006-01-02 15:04:05") + fmt.Sprintf(":%03d", t.Nanosecond()/1e6) + t.Format("-0700")
}

// Sunbird's params.status values (JsonKey.SUCCESS, JsonKey.FAILED).
const (
	statusSuccess = "SUCCESS"
	statusFailed  = "FAILED"
)

// maxRequestID bounds an echoed X-Request-ID; a longer one is replaced.
const maxRequestID = 128

// requestID is the gateway's X-Request-ID, or a fresh one as Sunbird's
// RequestInterceptor makes when the header is missing.
func requestID(r *http.Request) string {
	id := r.Header.Get("X-Request-ID")
	if id == "" || len(id) > maxRequestID || strings.ContainsFunc(id, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	return id
}

// apiVersion is the first path segment ("v1" … "v5"), as
// BaseController.getApiVersion takes it.
func apiVersion(r *http.Request) string {
	seg := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	return seg[0]
}

// responseID is "api." plus the path after its version, dots for slashes:
// POST /v1/user/upload is api.user.upload. A GET keeps its path
// parameters in the id (BaseController.getApiResponseId, getResponseId):
// GET /v1/upload/status/P is api.upload.status.P. The caller passes the
// id it registered with, so a request id never depends on a client's
// spelling beyond its path.
func responseID(r *http.Request) string {
	seg := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	if len(seg) < 2 {
		return "api"
	}
	return "api." + strings.ReplaceAll(strings.Trim(seg[1], "/"), "/", ".")
}

func newEnvelope(r *http.Request, apiID string) envelope {
	if apiID == "" {
		apiID = responseID(r)
	}
	id := requestID(r)
	return envelope{ID: apiID, Ver: apiVersion(r), Ts: sunbirdTime(time.Now()),
		Params: params{ResMsgID: id, MsgID: id}}
}

// respond writes a successful answer; result nil becomes {}.
func respond(w http.ResponseWriter, r *http.Request, apiID string, status int, result any) {
	env := newEnvelope(r, apiID)
	env.Params.Status = statusSuccess
	env.ResponseCode = "OK"
	if result == nil {
		result = map[string]any{}
	}
	env.Result = result
	write(w, status, env)
}

func write(w http.ResponseWriter, status int, env envelope) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

// sunbirdError is an error answered with a Sunbird error key, for the few
// cases Sunbird names distinctly and the portal tells apart (an empty CSV,
// a missing file, "already active").
type sunbirdError struct {
	status int    // HTTP status
	key    string // ResponseMessage.Key, e.g. "0010"
	msg    string // ResponseMessage.Message, placeholders filled
}

func (e *sunbirdError) Error() string { return e.msg }

// Sunbird's error keys (core/platform-common/src/main/java/org/sunbird/exception/ResponseMessage.java).
const (
	keyDuplicateEntry     = "0004"
	keyEmptyCSV           = "0010"
	keyResourceNotFound   = "0013"
	keySizeLimit          = "0014"
	keyInvalidParameter   = "0019"
	keyInvalidColumns     = "0020"
	keyInvalidRequestData = "0028"
	keyMandatoryMissing   = "0030"
	keyMissingFile        = "0035"
	keyRateLimit          = "0059"
	keyUnavailable        = "0064"
	keyForbidden          = "0071"
	keyUserStatus         = "0008"
	// These two carry the service prefix in Sunbird already and get no
	// operation code.
	keyServerError  = "UOS_0069"
	keyUnauthorized = "UOS_0070"
)

// Messages of Sunbird's that Roster answers in Sunbird's words, because
// the portal or scripts may compare them.
const (
	msgUnauthorized     = "You are not authorized."
	msgForbidden        = "You are forbidden from accessing specified resource."
	msgServerError      = "server error"
	msgInvalidRequest   = "Requested data for this operation is not valid."
	msgEmptyCSV         = "CSV file is Empty."
	msgMissingFile      = "Missing file attachment."
	msgUnavailable      = "SERVICE UNAVAILABLE"
	msgRateLimit        = "Your per request rate limit has exceeded. You can retry after some time."
	msgResourceNotFound = "Requested %s resource not found"
	msgUserActive       = "User is already active."
	msgUserInactive     = "User is already inactive."
	msgMandatoryMissing = "Mandatory parameter %s is missing."
	msgSizeLimit        = "Max allowed size is %s"
)

// Sunbird's responseCode names by HTTP status (ResponseCode.java).
func responseCodeName(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "CLIENT_ERROR"
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "FORBIDDEN"
	case http.StatusNotFound:
		return "RESOURCE_NOT_FOUND"
	case http.StatusTooManyRequests:
		return "TOO_MANY_REQUESTS"
	case http.StatusServiceUnavailable:
		return "SERVICE_UNAVAILABLE"
	}
	return "SERVER_ERROR"
}

// opCodes are Sunbird's operation codes by response id prefix
// (core/platform-common/src/main/java/org/sunbird/operations/ActorOperations.java);
// an error code is "UOS_" + operation code + key, e.g. UOS_USRUPLD0020.
var opCodes = []struct{ prefix, code string }{
	{"api.user.upload", "USRUPLD"},
	{"api.upload.status", "BLKSTSRED"},
	{"api.user.create", "USRCRT"},
	{"api.ssouser.create", "USRCRT"},
	{"api.user.read", "USRRED"},
	{"api.user.search", "USRSER"},
	{"api.user.block", "USRBLOK"},
	{"api.user.unblock", "USRUNBLOK"},
	{"api.user.consent.update", "UCNSNTUPD"},
	{"api.user.consent.read", "UCNSTRED"},
}

func opCode(apiID string) string {
	for _, o := range opCodes {
		if apiID == o.prefix || strings.HasPrefix(apiID, o.prefix+".") {
			return o.code
		}
	}
	return ""
}

// errorCode builds params.err the way ProjectCommonException's operation
// constructor does: keys that already carry the prefix stay as they are.
func errorCode(apiID, key string) string {
	// Named codes (UOS_0069, USER_CONSENT_NOT_FOUND) stay as Sunbird sends
	// them; only numeric keys get the operation prefix.
	if key != "" && (key[0] < '0' || key[0] > '9') {
		return key
	}
	return "UOS_" + opCode(apiID) + key
}

// classify maps an error to Sunbird's status, key and message. Roster's
// validation errors become Sunbird's client errors; the message lists
// every field as "field: reason", one sentence each, because the portal
// splits errmsg on "." to show several problems. No value is echoed.
func classify(err error) (status int, key, msg string) {
	var se *sunbirdError
	if errors.As(err, &se) {
		return se.status, se.key, se.msg
	}
	var re *roster.Error
	if !errors.As(err, &re) {
		return http.StatusInternalServerError, keyServerError, msgServerError
	}
	switch re.Code {
	case roster.EINVALID, roster.ESTALE:
		return http.StatusBadRequest, keyInvalidRequestData, fieldMessage(re)
	case roster.ECONFLICT:
		return http.StatusBadRequest, keyDuplicateEntry, fieldMessage(re)
	case roster.ETOOLARGE:
		return http.StatusBadRequest, keySizeLimit, fieldMessage(re)
	case roster.ENOTFOUND:
		return http.StatusNotFound, keyResourceNotFound, re.Message
	case roster.EFORBIDDEN:
		return http.StatusForbidden, keyForbidden, msgForbidden
	case roster.EUNAUTHORIZED:
		return http.StatusUnauthorized, keyUnauthorized, msgUnauthorized
	case roster.ETOOMANY:
		return http.StatusTooManyRequests, keyRateLimit, msgRateLimit
	case roster.EUNAVAILABLE:
		return http.StatusServiceUnavailable, keyUnavailable, msgUnavailable
	}
	return http.StatusInternalServerError, keyServerError, msgServerError
}

// fieldMessage is a roster.Error as one errmsg: each field's reason as a
// sentence, so the portal's split on "." lists them.
func fieldMessage(re *roster.Error) string {
	if len(re.Fields) == 0 {
		return sentence(re.Message)
	}
	parts := make([]string, 0, len(re.Fields))
	for _, f := range re.Fields {
		parts = append(parts, sentence(f.Field+": "+f.Message))
	}
	return strings.Join(parts, " ")
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// fail writes err in Sunbird's error envelope. Anything that is not a
// user's error is answered "server error" (the route logs it): driver and
// SQL errors never reach a caller.
func fail(w http.ResponseWriter, r *http.Request, apiID string, err error) {
	if errors.Is(err, context.Canceled) {
		return // the client went away; nobody reads this answer
	}
	status, key, msg := classify(err)
	env := newEnvelope(r, apiID)
	code := errorCode(env.ID, key)
	env.Params.Status = statusFailed
	env.Params.Err = &code
	env.Params.ErrMsg = &msg
	env.ResponseCode = responseCodeName(status)
	env.Result = map[string]any{}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "2")
	}
	write(w, status, env)
}
