package registry

// The registry's field rules (CheckName, CheckUsername in users.go, and
// CheckPassword here) are exported so bulk validators such as the CSV
// upload's dry run report exactly what CreateUserTx would, with the same
// messages. Each returns "" when the value is valid.

// CheckPassword validates a password's length (in bytes, as argon2 sees it).
func CheckPassword(pw string) string {
	if len(pw) < 8 || len(pw) > 128 {
		return MsgPasswordLength
	}
	return ""
}
