package httpapi

// routes lists every operation: the ACS paths, plus Herald's additions
// (GET identity, the token list). Operation names follow ACS operationIds.
func (s *Server) routes() {
	s.route("POST /identities", "CreateIdentity", s.createIdentity)
	s.route("GET /identities/{userId}", "GetIdentity", s.getIdentity)
	s.route("GET /identities", "ListIdentities", s.listIdentities)
	s.route("DELETE /identities/{userId}", "DeleteIdentity", s.deleteIdentity)
	s.route("POST /identities/{userId}/:issueAccessToken", "IssueAccessToken", s.issueToken)
	s.route("POST /identities/{userId}/:revokeAccessTokens", "RevokeAccessTokens", s.revokeTokens)
	s.route("GET /identities/{userId}/tokens", "ListAccessTokens", s.listTokens)

	s.route("POST /chat/threads", "CreateChatThread", s.createThread)
	s.route("GET /chat/threads", "ListChatThreads", s.listThreads)
	s.route("GET /chat/people", "SearchPeople", s.searchPeople)
	s.route("GET /chat/threads/{threadId}", "GetChatThreadProperties", s.getThread)
	s.route("PATCH /chat/threads/{threadId}", "UpdateChatThreadProperties", s.updateThread)
	s.route("DELETE /chat/threads/{threadId}", "DeleteChatThread", s.deleteThread)

	s.route("GET /chat/threads/{threadId}/participants", "ListChatParticipants", s.listParticipants)
	s.route("POST /chat/threads/{threadId}/participants/:add", "AddChatParticipants", s.addParticipants)
	s.route("POST /chat/threads/{threadId}/participants/:remove", "RemoveChatParticipant", s.removeParticipant)

	s.route("POST /chat/threads/{threadId}/messages", "SendChatMessage", s.sendMessage)
	s.route("GET /chat/threads/{threadId}/messages", "ListChatMessages", s.listMessages)
	s.route("GET /chat/threads/{threadId}/messages/{messageId}", "GetChatMessage", s.getMessage)
	s.route("PATCH /chat/threads/{threadId}/messages/{messageId}", "UpdateChatMessage", s.editMessage)
	s.route("DELETE /chat/threads/{threadId}/messages/{messageId}", "DeleteChatMessage", s.deleteMessage)

	s.route("POST /chat/threads/{threadId}/readReceipts", "SendChatReadReceipt", s.sendReadReceipt)
	s.route("GET /chat/threads/{threadId}/readReceipts", "ListChatReadReceipts", s.listReadReceipts)
	s.route("POST /chat/threads/{threadId}/typing", "SendTypingNotification", s.sendTyping)

	s.realtimeRoutes()
	s.adminRoutes()
	s.webhookRoutes()
	s.keyRoutes() // httpapi/keys.go: the JWKS and signing-key admin, with Config.Keys
	s.webRoutes() // httpapi/web.go: the pages and, with Config.DevLogin, POST /dev/login
}
