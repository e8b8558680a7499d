// Package e2e holds end-to-end tests of the web console: they start the
// whole service in-process on a random port and drive a real headless
// Chromium through it, as an org admin, a course creator and a mentor
// would. The package has no code of its own outside its tests.
package e2e
