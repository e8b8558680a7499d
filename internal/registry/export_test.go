package registry

// SetUsernameSuffix replaces the random suffix of generated usernames for
// one test and returns the function that restores it.
func SetUsernameSuffix(f func() string) (restore func()) {
	old := usernameSuffix
	usernameSuffix = f
	return func() { usernameSuffix = old }
}
