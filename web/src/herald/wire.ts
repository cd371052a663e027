// The JSON bodies and real-time frames, as defined by the server in
// wire/rest.go and wire/frames.go. Times are RFC 3339 strings.

/** ErrorBody is the body of every error: {"error": ErrorBody}. */
export interface ErrorBody {
  code: string;
  message: string;
  reason?: string;
  target?: string;
}

// --- Identity (admin key) ---

export interface CreateIdentityRequest {
  createTokenWithScopes?: string[];
  expiresInMinutes?: number;
  /** displayName (a Herald addition) is the default name of the user's participations and messages. */
  displayName?: string;
}

export interface CommunicationUser {
  id: string;
}

export interface AccessToken {
  token: string;
  expiresOn: string;
  id?: string;
}

export interface CreateIdentityResponse {
  identity: CommunicationUser;
  accessToken?: AccessToken;
  displayName?: string;
}

export interface IssueTokenRequest {
  scopes: string[];
  expiresInMinutes?: number;
}

export interface Identity {
  id: string;
  displayName?: string;
  createdOn: string;
  deletedOn?: string;
  lastTokenIssuedAt?: string;
}

export interface TokenInfo {
  id: string;
  scopes: string[];
  issuedOn: string;
  expiresOn: string;
  revokedOn?: string;
}

export interface TokenList {
  value: TokenInfo[];
  nextLink?: string;
}

// --- Chat (user token) ---

export interface CommunicationIdentifier {
  rawId?: string;
  communicationUser?: CommunicationUser;
}

/** userIdOf returns the user id an identifier names, or "". */
export function userIdOf(c: CommunicationIdentifier | undefined | null): string {
  if (!c) return "";
  return c.communicationUser?.id || c.rawId || "";
}

/** identifier returns the identifier model for a user id. */
export function identifier(id: string): CommunicationIdentifier {
  return { rawId: id, communicationUser: { id } };
}

export interface ChatParticipant {
  communicationIdentifier: CommunicationIdentifier;
  displayName?: string;
  shareHistoryTime?: string;
  metadata?: Record<string, string>;
}

export interface CreateThreadRequest {
  topic: string;
  participants?: ChatParticipant[];
  metadata?: Record<string, string>;
}

export interface ChatThreadProperties {
  id: string;
  topic: string;
  createdOn: string;
  createdByCommunicationIdentifier: CommunicationIdentifier;
  deletedOn?: string;
  metadata?: Record<string, string>;
  sequenceId: string;
}

export interface CreateThreadResponse {
  chatThread: ChatThreadProperties;
  invalidParticipants?: ErrorBody[];
}

export interface ChatThreadItem {
  id: string;
  topic: string;
  deletedOn?: string;
  lastMessageReceivedOn?: string;
}

export interface Page<T> {
  value: T[];
  nextLink?: string;
}

export interface UpdateThreadRequest {
  topic?: string;
  metadata?: Record<string, string>;
}

export interface AddParticipantsRequest {
  participants: ChatParticipant[];
}

export interface AddParticipantsResponse {
  invalidParticipants?: ErrorBody[];
}

export interface SendMessageRequest {
  content: string;
  senderDisplayName?: string;
  type?: "text" | "html";
  metadata?: Record<string, string>;
  /** clientMessageId is the idempotency key: a retry with it sends nothing twice. */
  clientMessageId?: string;
}

export interface SendMessageResponse {
  id: string;
  sequenceId: string;
}

export interface MessageContent {
  message?: string;
  topic?: string;
  participants?: ChatParticipant[];
  initiatorCommunicationIdentifier?: CommunicationIdentifier;
}

export interface ChatMessage {
  id: string;
  type: string;
  sequenceId: string;
  version: string;
  content?: MessageContent;
  senderDisplayName?: string;
  createdOn: string;
  senderCommunicationIdentifier?: CommunicationIdentifier;
  deletedOn?: string;
  editedOn?: string;
  metadata?: Record<string, string>;
}

export interface UpdateMessageRequest {
  content?: string;
  metadata?: Record<string, string>;
}

export interface SendReadReceiptRequest {
  chatMessageId: string;
}

export interface ReadReceipt {
  senderCommunicationIdentifier: CommunicationIdentifier;
  chatMessageId: string;
  readOn: string;
}

export interface TypingRequest {
  senderDisplayName?: string;
}

export interface Ticket {
  ticket: string;
  expiresOn: string;
}

// --- Real-time frames ---

export const PROTOCOL_VERSION = 1;

export type Transport = "websocket" | "sse" | "longpoll";

export interface Ack {
  threadId: string;
  seq: number;
}

/** ClientFrame is a frame from client to server; type says which fields are set. */
export interface ClientFrame {
  type: "hello" | "ack" | "refresh" | "ping" | "pong";
  v?: number;
  cursor?: Record<string, number>;
  resume?: boolean;
  handles?: string[];
  acks?: Ack[];
  token?: string;
}

export interface ThreadResume {
  resumed: boolean;
  reason?: string;
  from: number;
  to: number;
  /** ended says nothing more will come from the thread to this user (removed, or the thread deleted). */
  ended?: boolean;
}

/** EventData is the payload of an event frame. */
export interface EventData {
  message?: ChatMessage;
  thread?: ChatThreadProperties;
  participants?: ChatParticipant[];
  actor?: CommunicationIdentifier;
  at: string;
  senderDisplayName?: string;
  chatMessageId?: string;
}

/** ServerFrame is a frame from server to client; type says which fields are set. */
export interface ServerFrame {
  type: string;
  v?: number;
  connectionId?: string;
  connectionKey?: string;
  transport?: string;
  heartbeatMs?: number;
  timeoutMs?: number;
  resumed?: boolean;
  threads?: Record<string, ThreadResume>;
  tokenExpiresOn?: string;
  threadId?: string;
  seq?: number;
  event?: string;
  data?: EventData;
  expiresOn?: string;
  error?: ErrorBody;
  code?: number;
  reason?: string;
}

/** The event types, as ACS names them. */
export const Events = {
  messageReceived: "chatMessageReceived",
  messageEdited: "chatMessageEdited",
  messageDeleted: "chatMessageDeleted",
  typing: "typingIndicatorReceived",
  readReceipt: "readReceiptReceived",
  threadCreated: "chatThreadCreated",
  threadDeleted: "chatThreadDeleted",
  threadPropertiesUpdated: "chatThreadPropertiesUpdated",
  participantsAdded: "participantsAdded",
  participantsRemoved: "participantsRemoved",
} as const;

export type EventType = (typeof Events)[keyof typeof Events];

/** Close codes 4000–4099 reconnect; 4100–4199 are terminal. */
export const Close = {
  goingAway: 4000,
  heartbeatTimeout: 4001,
  slowConsumer: 4002,
  resync: 4003,
  protocolError: 4100,
  tokenExpired: 4101,
  tokenRevoked: 4102,
  identityDeleted: 4103,
  authTimeout: 4104,
  unsupportedVersion: 4105,
} as const;

/** reconnects reports whether a client should reconnect after close code c (wire.Reconnect). */
export function reconnects(c: number): boolean {
  return (c >= 4000 && c < 4100) || c === 1001 || c === 1006 || c === 1011 || c === 1012 || c === 1013;
}

// --- Admin: the doctor and the evidence tables ---

export type Verdict = "confirmed" | "ruled_out" | "inconclusive";
export type Tag = "Observed" | "Measured" | "Correlated" | "Inferred";

export interface Evidence {
  at: string;
  /** source is the table: identities, tokens, requests, participants, threads, messages, connections, deliveries, acks. */
  source: string;
  id: string;
  detail: string;
}

export interface Finding {
  check: string;
  title: string;
  verdict: Verdict;
  tag: Tag;
  reason?: string;
  summary: string;
  evidence: Evidence[] | null;
  mitigation?: string;
  /** fault: confirmed, and it stops the message (every check but recipient_offline). */
  fault: boolean;
}

export interface Delivery {
  connectionId: string;
  transport: string;
  pushedAt: string;
  ackedAt?: string;
  latencyMs: number;
  ackMs?: number;
}

/** Receipt is one proof that the user got the message. */
export interface Receipt {
  /** how is read, pushed_acknowledged, fetched or pushed. */
  how: string;
  tag: Tag;
  evidence: Evidence;
}

export interface DoctorReport {
  version: number;
  generatedAt: string;
  user: string;
  thread: string;
  message?: string;
  seq?: number;
  /** picked says how the message was chosen when none was named. */
  picked?: string;
  /** sender and sentAt describe the message (never its content). */
  sender?: string;
  sentAt?: string;
  since: string;
  /** status is delivered, not_delivered, pending (will arrive on resume), unknown, unknown_user or unknown_thread. */
  status: string;
  cause?: string;
  summary: string;
  /** received is how the user got the message: read, pushed_acknowledged, fetched or pushed. */
  received?: string;
  receipts?: Receipt[];
  delivered?: Delivery;
  incomplete?: string[];
  findings: Finding[];
}

/** TriagePair is one recipient and message, and what the doctor says of it. */
export interface TriagePair {
  user: string;
  thread: string;
  message: string;
  summary: string;
}

/** TriageGroup is the pairs that share a status, cause and receipt; count has them all, pairs at most 50. */
export interface TriageGroup {
  status: string;
  cause?: string;
  received?: string;
  count: number;
  pairs: TriagePair[];
}

/** Triage answers GET /admin/doctor/thread (one message, every recipient) and /admin/doctor/recent (every undelivered pair). */
export interface Triage {
  version: number;
  generatedAt: string;
  since: string;
  /** thread, message, seq, sender and sentAt: the message in question (thread triage only; never its content). */
  thread?: string;
  message?: string;
  seq?: number;
  sender?: string;
  sentAt?: string;
  /** status is ok, or unknown_thread, unknown_message or no_message when there is nothing to triage. */
  status: string;
  summary: string;
  messages: number;
  pairs: number;
  incomplete?: string[];
  groups: TriageGroup[];
}

/** ThreadTriageQuery asks about one message (default: the thread's newest) for every recipient. */
export interface ThreadTriageQuery {
  thread: string;
  message?: string;
  since?: string;
}

export interface DoctorQuery {
  user: string;
  thread: string;
  message?: string;
  /** since is RFC 3339 or a duration before now ("2h"). */
  since?: string;
}

export const EvidenceTables = [
  "ChatMessageSentEvents",
  "ChatMessageReceivedEvents",
  "Acks",
  "Requests",
  "Connections",
  "Membership",
  "ThreadLifecycle",
  "Tokens",
] as const;

export interface EvidenceFilter {
  user?: string;
  thread?: string;
  message?: string;
  since?: string;
  until?: string;
  reason?: string;
  limit?: number;
}

export interface EvidenceTable {
  table: string;
  columns: string[];
  rows: string[][] | null;
}

/** DevLogin answers POST /dev/login. */
export interface DevLogin {
  id: string;
  token: string;
  expiresOn: string;
}

/** PeopleList is the answer to GET /chat/people (a Herald addition). */
export interface PeopleList {
  value: ChatParticipant[];
}
