package report

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Download tokens are "<report id>.<expiry unix seconds>.<mac>". The MAC
// also covers the id of the user the link was issued to, which the token
// does not carry: a leaked link is useless to anyone signed in as someone
// else, and the token reveals nothing about the user.
const tokenVersion = "report-download-v1"

var b64 = base64.RawURLEncoding

func sign(key []byte, reportID, userID string, exp int64) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(tokenVersion))
	for _, part := range []string{reportID, userID, strconv.FormatInt(exp, 10)} {
		mac.Write([]byte{0})
		mac.Write([]byte(part))
	}
	return mac.Sum(nil)
}

func (s *Service) token(reportID, userID string, exp time.Time) string {
	e := exp.Unix()
	return reportID + "." + strconv.FormatInt(e, 10) + "." + b64.EncodeToString(sign(s.linkKeys[0], reportID, userID, e))
}

// tokenProblem says why a token was refused; the caller-facing message
// stays generic except for expiry, which the user can fix by asking again.
type tokenProblem int

const (
	tokenOK tokenProblem = iota
	tokenMalformed
	tokenBadSignature
	tokenExpired
)

// verify checks a token for userID and returns the report id it names.
func (s *Service) verify(token, userID string, now time.Time) (string, tokenProblem) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" {
		return "", tokenMalformed
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", tokenMalformed
	}
	got, err := b64.DecodeString(parts[2])
	if err != nil {
		return "", tokenMalformed
	}
	// Any of the link keys verifies, so links signed before a rotation
	// work until they expire.
	signed := false
	for _, key := range s.linkKeys {
		signed = signed || hmac.Equal(got, sign(key, parts[0], userID, exp))
	}
	if !signed {
		return parts[0], tokenBadSignature
	}
	if now.Unix() >= exp {
		return parts[0], tokenExpired
	}
	return parts[0], tokenOK
}
