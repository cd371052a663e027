package wire

import "time"

// ErrorResponse is the one error body: {"error":{...}}.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes what went wrong. Code is the broad class, Reason the
// machine-readable why, Target the offending field or resource.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Reason  string `json:"reason,omitempty"`
	Target  string `json:"target,omitempty"`
}

// --- Identity (admin key) ---

// CreateIdentityRequest is the body of POST /identities (optional).
type CreateIdentityRequest struct {
	CreateTokenWithScopes []string `json:"createTokenWithScopes,omitempty"`
	ExpiresInMinutes      *int     `json:"expiresInMinutes,omitempty"`
	// DisplayName is a Herald extension: the default display name of the
	// user's participations.
	DisplayName string `json:"displayName,omitempty"`
}

// CommunicationUser is an ACS user identifier.
type CommunicationUser struct {
	ID string `json:"id"`
}

// CreateIdentityResponse answers POST /identities.
type CreateIdentityResponse struct {
	Identity    CommunicationUser `json:"identity"`
	AccessToken *AccessToken      `json:"accessToken,omitempty"`
	DisplayName string            `json:"displayName,omitempty"`
}

// IssueTokenRequest is the body of POST /identities/{id}/:issueAccessToken.
type IssueTokenRequest struct {
	Scopes           []string `json:"scopes"`
	ExpiresInMinutes *int     `json:"expiresInMinutes,omitempty"`
}

// AccessToken is an issued token. It is shown once and never stored.
type AccessToken struct {
	Token     string    `json:"token"`
	ExpiresOn time.Time `json:"expiresOn"`
	// ID is the token's id (jti), for the token list and the doctor.
	ID string `json:"id,omitempty"`
}

// Identity answers GET /identities/{id} (a Herald addition).
type Identity struct {
	ID                string     `json:"id"`
	DisplayName       string     `json:"displayName,omitempty"`
	CreatedOn         time.Time  `json:"createdOn"`
	DeletedOn         *time.Time `json:"deletedOn,omitempty"`
	LastTokenIssuedAt *time.Time `json:"lastTokenIssuedAt,omitempty"`
}

// IdentityList is the answer to GET /identities (a Herald addition).
type IdentityList struct {
	Value []Identity `json:"value"`
}

// TokenInfo is one entry of GET /identities/{id}/tokens: the issue log,
// never the token itself.
type TokenInfo struct {
	ID        string     `json:"id"`
	Scopes    []string   `json:"scopes"`
	IssuedOn  time.Time  `json:"issuedOn"`
	ExpiresOn time.Time  `json:"expiresOn"`
	RevokedOn *time.Time `json:"revokedOn,omitempty"`
}

// TokenList answers GET /identities/{id}/tokens.
type TokenList struct {
	Value    []TokenInfo `json:"value"`
	NextLink string      `json:"nextLink,omitempty"`
}

// --- Chat (user token) ---

// CommunicationIdentifier is ACS's identifier model. Herald accepts rawId or
// communicationUser.id (equal if both are given) and always writes both.
type CommunicationIdentifier struct {
	RawID             string             `json:"rawId,omitempty"`
	CommunicationUser *CommunicationUser `json:"communicationUser,omitempty"`
}

// UserID returns the identifier's user id, or "" if it names none.
func (c CommunicationIdentifier) UserID() string {
	if c.CommunicationUser != nil && c.CommunicationUser.ID != "" {
		return c.CommunicationUser.ID
	}
	return c.RawID
}

// Identifier returns the identifier model for a user id.
func Identifier(id string) CommunicationIdentifier {
	return CommunicationIdentifier{RawID: id, CommunicationUser: &CommunicationUser{ID: id}}
}

// PeopleList is the answer to GET /chat/people: people by name.
type PeopleList struct {
	Value []ChatParticipant `json:"value"`
}

// ChatParticipant is a thread participant.
type ChatParticipant struct {
	CommunicationIdentifier CommunicationIdentifier `json:"communicationIdentifier"`
	DisplayName             string                  `json:"displayName,omitempty"`
	ShareHistoryTime        *time.Time              `json:"shareHistoryTime,omitempty"`
	Metadata                map[string]string       `json:"metadata,omitempty"`
}

// CreateThreadRequest is the body of POST /chat/threads.
type CreateThreadRequest struct {
	Topic        string            `json:"topic"`
	Participants []ChatParticipant `json:"participants,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// ChatThreadProperties describes a thread.
type ChatThreadProperties struct {
	ID                               string                  `json:"id"`
	Topic                            string                  `json:"topic"`
	CreatedOn                        time.Time               `json:"createdOn"`
	CreatedByCommunicationIdentifier CommunicationIdentifier `json:"createdByCommunicationIdentifier"`
	DeletedOn                        *time.Time              `json:"deletedOn,omitempty"`
	Metadata                         map[string]string       `json:"metadata,omitempty"`
	// SequenceID is the thread's newest event sequence number (Herald).
	SequenceID string `json:"sequenceId"`
}

// InvalidParticipant reports why one participant of a batch was refused.
type InvalidParticipant = ErrorBody

// CreateThreadResponse answers POST /chat/threads.
type CreateThreadResponse struct {
	ChatThread          ChatThreadProperties `json:"chatThread"`
	InvalidParticipants []InvalidParticipant `json:"invalidParticipants,omitempty"`
}

// ChatThreadItem is one entry of GET /chat/threads.
type ChatThreadItem struct {
	ID                    string     `json:"id"`
	Topic                 string     `json:"topic"`
	DeletedOn             *time.Time `json:"deletedOn,omitempty"`
	LastMessageReceivedOn *time.Time `json:"lastMessageReceivedOn,omitempty"`
}

// ThreadList answers GET /chat/threads.
type ThreadList struct {
	Value    []ChatThreadItem `json:"value"`
	NextLink string           `json:"nextLink,omitempty"`
}

// UpdateThreadRequest is the body of PATCH /chat/threads/{id}.
type UpdateThreadRequest struct {
	Topic    *string           `json:"topic,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// AddParticipantsRequest is the body of POST .../participants/:add.
type AddParticipantsRequest struct {
	Participants []ChatParticipant `json:"participants"`
}

// AddParticipantsResponse answers POST .../participants/:add.
type AddParticipantsResponse struct {
	InvalidParticipants []InvalidParticipant `json:"invalidParticipants,omitempty"`
}

// ParticipantList answers GET .../participants.
type ParticipantList struct {
	Value    []ChatParticipant `json:"value"`
	NextLink string            `json:"nextLink,omitempty"`
}

// SendMessageRequest is the body of POST .../messages.
type SendMessageRequest struct {
	Content           string            `json:"content"`
	SenderDisplayName string            `json:"senderDisplayName,omitempty"`
	Type              string            `json:"type,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	// ClientMessageID is the idempotency key (Herald); the
	// repeatability-request-id header works too.
	ClientMessageID string `json:"clientMessageId,omitempty"`
}

// SendMessageResponse answers POST .../messages.
type SendMessageResponse struct {
	ID         string `json:"id"`
	SequenceID string `json:"sequenceId"`
}

// MessageContent is a message's content; system messages fill topic or
// participants and initiator.
type MessageContent struct {
	Message                          string                   `json:"message,omitempty"`
	Topic                            string                   `json:"topic,omitempty"`
	Participants                     []ChatParticipant        `json:"participants,omitempty"`
	InitiatorCommunicationIdentifier *CommunicationIdentifier `json:"initiatorCommunicationIdentifier,omitempty"`
}

// ChatMessage is a message as read.
type ChatMessage struct {
	ID                            string                   `json:"id"`
	Type                          string                   `json:"type"`
	SequenceID                    string                   `json:"sequenceId"`
	Version                       string                   `json:"version"`
	Content                       *MessageContent          `json:"content,omitempty"`
	SenderDisplayName             string                   `json:"senderDisplayName,omitempty"`
	CreatedOn                     time.Time                `json:"createdOn"`
	SenderCommunicationIdentifier *CommunicationIdentifier `json:"senderCommunicationIdentifier,omitempty"`
	DeletedOn                     *time.Time               `json:"deletedOn,omitempty"`
	EditedOn                      *time.Time               `json:"editedOn,omitempty"`
	Metadata                      map[string]string        `json:"metadata,omitempty"`
}

// MessageList answers GET .../messages.
type MessageList struct {
	Value    []ChatMessage `json:"value"`
	NextLink string        `json:"nextLink,omitempty"`
}

// UpdateMessageRequest is the body of PATCH .../messages/{id}.
type UpdateMessageRequest struct {
	Content  *string           `json:"content,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// SendReadReceiptRequest is the body of POST .../readReceipts.
type SendReadReceiptRequest struct {
	ChatMessageID string `json:"chatMessageId"`
}

// ReadReceipt is one entry of GET .../readReceipts.
type ReadReceipt struct {
	SenderCommunicationIdentifier CommunicationIdentifier `json:"senderCommunicationIdentifier"`
	ChatMessageID                 string                  `json:"chatMessageId"`
	ReadOn                        time.Time               `json:"readOn"`
}

// ReadReceiptList answers GET .../readReceipts.
type ReadReceiptList struct {
	Value    []ReadReceipt `json:"value"`
	NextLink string        `json:"nextLink,omitempty"`
}

// TypingRequest is the (optional) body of POST .../typing.
type TypingRequest struct {
	SenderDisplayName string `json:"senderDisplayName,omitempty"`
}

// Headers Herald reads.
const (
	HeaderRepeatability = "repeatability-request-id"
	HeaderRequestID     = "x-request-id"
	HeaderRetryAfter    = "Retry-After"
)

// SigningKey is one of the deployment's token signing keys as the admin API
// lists it: never its private part.
type SigningKey struct {
	KeyID      string     `json:"kid"`
	Generation int        `json:"generation"`
	CreatedOn  time.Time  `json:"createdOn"`
	RotatedOn  *time.Time `json:"rotatedOn,omitempty"`
	RetiresOn  *time.Time `json:"retiresOn,omitempty"`
	// State is "signing" (the newest: new tokens), "verifying" (rotated,
	// its tokens still valid) or "retired".
	State string `json:"state"`
}

// SigningKeyList is the answer of GET /admin/signing-keys.
type SigningKeyList struct {
	Value []SigningKey `json:"value"`
}
