package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// FS returns the built files with dist/ as their root: index.html (the chat
// page), doctor.html, style.css, chat.js, doctor.js and herald.js (the
// client library as an ES module).
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("web: " + err.Error()) // dist is embedded; Sub fails only on an invalid name
	}
	return sub
}
