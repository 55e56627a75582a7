/**
 * @wagate/client: a typed client for wagate and Whapi.Cloud. Webhooks (parse, verify, receive),
 * a channel status tracker, the gate API client and a resilient sender.
 */
export { parseWebhook, isTextMessage, InvalidWebhookError, UnsupportedWebhookError, type WebhookEvent, type WebhookEventOf } from './webhooks/parse.js';
export { verifyWebhook, WebhookVerificationError, type HeaderSource, type VerifiedWebhook, type VerificationFailure, type VerifyOptions } from './webhooks/verify.js';
export { receiveWebhook, type Delivery, type ReceiverAnswer, type ReceiverOptions } from './webhooks/receive.js';
export { nodeWebhookHandler, handleNodeRequest, readBody, BodyTooLargeError } from './webhooks/node.js';
export { expressWebhook, type ExpressLikeNext, type ExpressLikeRequest } from './webhooks/express.js';
export { fastifyWebhook, type FastifyLike, type FastifyReplyLike, type FastifyWebhookOptions } from './webhooks/fastify.js';

export { ChannelStatusTracker, StatusTimeoutError, type FlappingSignal, type HealthSource, type StatusChange, type StatusSource, type TrackerEvents, type TrackerOptions } from './status/tracker.js';
export { webhookSequence } from './status/freshness.js';

export { GateClient, type ChatsPage, type GateClientOptions, type HistoryPage, type MessageQuery, type MessagesPage, type Paging, type SendOptions, type WakeupOption } from './gate/client.js';
export {
  GateError,
  NeedAuthorizationError,
  InvalidTokenError,
  RateLimitedError,
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  ConflictError,
  ServerError,
  NetworkError,
  UnexpectedResponseError,
  isGateError,
  parseRetryAfter,
  type AnyGateError,
  type GateErrorKind,
} from './gate/errors.js';

export { ResilientSender, SenderError, type ResilientSenderOptions, type RetryNotice, type SendGate, type SendOutcome, type SenderEvents, type TextSendingClient } from './send/sender.js';
export { DEFAULT_RETRY_POLICY, backoffDelay, type Backoff, type RetryPolicy, type RetryReason } from './send/policy.js';

export { systemClock, type Clock } from './clock.js';
export {
  STATUS,
  EVENT_CATALOGUE,
  MESSAGE_STATUS,
  canSendIn,
  isStatusText,
  normaliseChatId,
  type Alert,
  type AlertKind,
  type Chat,
  type ErrorBody,
  type EventMethod,
  type EventName,
  type EventType,
  type Health,
  type HistoryEntry,
  type Message,
  type PairingCode,
  type Profile,
  type QR,
  type SendText,
  type SentMessage,
  type Settings,
  type SettingsPatch,
  type StatusCode,
  type StatusText,
  type UpdateSettingsAnswer,
  type User,
  type Webhook,
  type WebhookInput,
  type WebhookPayloads,
  type WebhookSubscription,
  type WireHealth,
  type WireMessage,
  type WireStatus,
} from './protocol.js';
