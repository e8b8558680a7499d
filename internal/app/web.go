package app

import (
	"net/http"

	"github.com/roster-dev/roster/internal/web"
)

// webHandler is the web console, mounted at "/" (the router's catch-all).
func webHandler() http.Handler { return web.Handler() }
