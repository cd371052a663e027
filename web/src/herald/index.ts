// Herald's browser client: the REST API with typed errors, a refreshing
// token credential, and the real-time connection with resume, acks,
// heartbeats, backoff and transport fallback. The same behaviour as the Go
// SDK (package client); see web/README.md.

export { type Backoff, DEFAULT_BACKOFF, backoffDelay } from "./backoff.js";
export { type Clock, systemClock } from "./clock.js";
export {
  type Credential,
  DEFAULT_REFRESH_BEFORE_MS,
  MIN_REFRESH_RETRY_MS,
  type Refresher,
  type RefreshingCredential,
  StaticToken,
  TokenCredential,
  type TokenCredentialOptions,
  isRefreshing,
} from "./credential.js";
export { type CursorStore, type Cursors, LocalStorageCursors, MemoryCursors, type StorageLike, cursorKey } from "./cursors.js";
export { CloseError, HeraldError, type HeraldErrorInit, Mitigations, describe, errorCode, errorReason, mitigationFor } from "./errors.js";
export { type TokenClaims, peekToken } from "./jwt.js";
export {
  type Handler,
  type Logger,
  type Network,
  Realtime,
  type RealtimeEvent,
  type RealtimeOptions,
  type State,
  type StateChange,
  browserNetwork,
  closeError,
} from "./realtime.js";
export {
  AdminClient,
  ChatClient,
  type ClientOptions,
  Conn,
  type FetchLike,
  type ListMessagesOptions,
  type ListOptions,
  type ListThreadsOptions,
  devLogin,
} from "./rest.js";
export {
  type DialContext,
  type Dialer,
  FrameQueue,
  type Link,
  TransportBlockedError,
  longPollDialer,
  sseDialer,
  webSocketDialer,
} from "./transports.js";
export * from "./wire.js";
