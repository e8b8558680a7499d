package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
)

// Bindings: the associated data each sealed value is bound to, so that a
// ciphertext copied to another row or column fails to open. This is the
// one list of every sealed value Roster keeps; the strings are part of the
// stored data and must never change (TestBindingsOpenOldData).
//
//	users.email_enc, phone_enc, recovery_email_enc,
//	recovery_phone_enc, prev_used_email_enc, prev_used_phone_enc  UserField(id, "email" | "phone" | …)
//	usr_external_identity.external_id_enc                          ExternalID(provider, idType, userID)
//	user_key.wrapped_enc (the user's data key, sealed by the ring)  UserKeyWrap(userID)
//	upload.file_enc                                                UploadFile(uploadID)
//	upload_row.original_enc                                        UploadRow(uploadID, row)
//	report_request.password_enc                                    ReportPassword(reportID)
//	user_declaration.teacher_id_enc                                Declaration(declarationID)
//	the OIDC sign-in state cookie (not stored)                     OIDCLoginState
var SealedColumns = []struct{ Table, Column, Binding string }{
	{"users", "email_enc", UserField("<id>", FieldEmail)},
	{"users", "phone_enc", UserField("<id>", FieldPhone)},
	{"users", "recovery_email_enc", UserField("<id>", FieldRecoveryEmail)},
	{"users", "recovery_phone_enc", UserField("<id>", FieldRecoveryPhone)},
	{"users", "prev_used_email_enc", UserField("<id>", PrevUsed(FieldEmail))},
	{"users", "prev_used_phone_enc", UserField("<id>", PrevUsed(FieldPhone))},
	{"usr_external_identity", "external_id_enc", ExternalID("<provider>", "<idType>", "<userId>")},
	{"user_key", "wrapped_enc", UserKeyWrap("<userId>")},
	{"upload", "file_enc", UploadFile("<id>")},
	{"upload_row", "original_enc", UploadRow("<uploadId>", 0)},
	{"report_request", "password_enc", ReportPassword("<id>")},
	{"user_declaration", "teacher_id_enc", Declaration("<id>")},
}

// Sealed user fields: the column is the field name plus "_enc".
const (
	FieldEmail         = "email"
	FieldPhone         = "phone"
	FieldRecoveryEmail = "recovery_email"
	FieldRecoveryPhone = "recovery_phone"
)

// PrevUsed is the field keeping a deleted user's old value of field.
func PrevUsed(field string) string { return "prev_used_" + field }

// UserField binds users.<field>_enc to its user.
func UserField(userID, field string) string { return "users/" + userID + "/" + field }

// ExternalID binds usr_external_identity.external_id_enc to its row.
func ExternalID(provider, idType, userID string) string {
	return "usr_external_identity/" + provider + "/" + idType + "/" + userID
}

// UserKeyWrap binds a user's wrapped data key to that user. The users,
// usr_external_identity and user_declaration values are sealed under that data key
// (userkey.go), or by the ring directly if written before per-user keys.
func UserKeyWrap(userID string) string { return "user_key/" + userID }

// Declaration binds a declared teacher id to its declaration.
func Declaration(id string) string { return "user_declaration/" + id + "/teacher_id" }

// UploadFile binds an uploaded file to its upload.
func UploadFile(uploadID string) string { return "upload/" + uploadID + "/file" }

// UploadRow binds a row's original values to that row of its upload.
func UploadRow(uploadID string, row int) string {
	return "upload_row/" + uploadID + "/" + strconv.Itoa(row)
}

// ReportPassword binds a report's archive password to its request.
func ReportPassword(reportID string) string { return "report/" + reportID + "/password" }

// OIDCLoginState binds the OIDC sign-in state cookie.
const OIDCLoginState = "roster oidc login state"

// Key derivation: one named helper per purpose, so no two purposes ever
// share a key and each derived key says where it comes from.

// derive returns HMAC-SHA256(secret, purpose): a 32-byte key for one use
// of a secret that has others.
func derive(secret []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// OIDCStateKey is the key sealing the OIDC sign-in state cookie, derived
// from the token signing key so every replica has it without another
// secret, yet a cookie can never be used as a token or the other way round.
func OIDCStateKey(tokenKey []byte) []byte { return derive(tokenKey, "roster/oidc-login-state/v1") }

// legacyLinkKey is the download-link key of installations from before
// links had keys of their own: derived from the blind-index key, which
// can never rotate. It is used only when no link key is configured, so
// links issued by such an installation keep working.
func legacyLinkKey(indexKey []byte) []byte {
	return []byte(blindIndex(indexKey, "report-download-link-key", "v1"))
}

// OneTimeCodeKey is the key one-time codes are hashed with before they
// are stored, derived from the blind-index key: that key is already on
// every replica and never rotates, and a code lives ten minutes, so a
// rotation would cost nothing but codes in flight.
func (k *Keyring) OneTimeCodeKey() []byte { return derive(k.indexKey, "roster/one-time-code/v1") }

// OneTimeCodeDestination is the blind index one-time codes are stored
// under instead of their address (channel "email" or "sms"): one place,
// so the erasure of a user finds the codes sent to them.
func (k *Keyring) OneTimeCodeDestination(channel, address string) string {
	return k.BlindIndex("otp-destination", channel+":"+address)
}
