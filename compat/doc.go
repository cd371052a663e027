// Package compat drives a real Herald server with the official Azure
// Communication Services SDKs for JavaScript (@azure/communication-identity
// and @azure/communication-chat, in testdata/sdk): identities and tokens
// through a connection string (HMAC-signed requests), then every chat
// operation the SDK offers, over HTTPS with Herald's development
// certificate. `make compat` installs the SDKs and runs it; docs/acs-compat.md
// lists the operations and their results.
package compat
