package app

import "net/http"

// webHandler is the web console mounted at "/"; nil serves a placeholder
// until the console package is wired in.
func webHandler() http.Handler { return nil }
