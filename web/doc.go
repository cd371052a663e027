// Package web is Herald's browser side, built: the TypeScript client
// library (src/herald) and the chat and doctor pages (src/pages, static),
// compiled by the npm toolchain in this directory into dist/.
//
// dist/ is a generated artifact that is committed, like generated Go code:
// the Go build embeds it, so `herald serve` needs no Node at build or run
// time. `npm ci && npm run build` regenerates it from the lockfile, and
// check-dist.sh fails when the committed files differ from a fresh build.
//
// It is not a handler: package httpapi serves these files (GET /, GET
// /doctor, GET /web/{file}). In the message path the pages sit where the Go
// SDK does, in front of httpapi: they speak the same REST API and real-time
// protocol, with the same rules of resume, acknowledgement and refresh.
package web
