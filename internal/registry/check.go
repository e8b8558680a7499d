package registry

// CheckName and CheckUsername expose the registry's own field rules (the
// empty string means valid) so bulk validators such as the CSV upload's dry
// run report exactly what CreateUserTx would, with the same messages.
// Added by the upload engineer; purely additive.

// CheckName validates a first or last name.
func CheckName(s string) string { return checkName(s) }

// CheckUsername validates a chosen username.
func CheckUsername(s string) string { return checkUsername(s) }
