// Package web is the browser client (index.html, app/) and the JavaScript
// client SDK (sdk/), embedded so the gateway binary serves them without
// any file on disk. Plain ES modules: no build step.
package web

import "embed"

// Files holds the client's static files.
//
//go:embed index.html favicon.svg app sdk
var Files embed.FS
