import { InvalidWebhookError, UnsupportedWebhookError, parseWebhook, type WebhookEvent } from './parse.js';
import { WebhookVerificationError, header, verifyWebhook, type HeaderSource } from './verify.js';

/** What the receiver knows about one delivery besides its event. */
export interface Delivery {
  /** `webhook-id` (wagate: `msg_<seq>`, stable across retries); null when the sender sent none. */
  id: string | null;
  /** `webhook-timestamp` in unix seconds; null when absent. */
  timestamp: number | null;
  headers: HeaderSource;
}

/** How a webhook endpoint verifies, parses and hands over deliveries (shared by every adapter). */
export interface ReceiverOptions {
  /** `whsec_...` key(s). When set, a delivery without a valid signature is refused with 401. */
  secret?: string | readonly string[];
  /**
   * Called once per valid delivery; the answer is sent after it settles. A throw answers 500 so
   * the gateway retries: deliveries are at least once, so dedupe on `delivery.id` if it matters.
   */
  onEvent(event: WebhookEvent, delivery: Delivery): void | Promise<void>;
  /** Events outside wagate's catalogue (Whapi's `chats.post`, ...): acknowledged with 200, then passed here. */
  onUnsupported?(error: UnsupportedWebhookError, delivery: Delivery): void;
  /** Refused deliveries (bad signature, bad payload) and handler failures, for logging. */
  onError?(error: unknown, delivery: Delivery | null): void;
  /** Largest accepted body in bytes (default 1 MiB); larger ones are answered 413. */
  maxBodyBytes?: number;
  /** Accepted clock skew of `webhook-timestamp`, in seconds (default 300). */
  toleranceSeconds?: number;
}

/** The HTTP answer an adapter writes. */
export interface ReceiverAnswer {
  status: number;
  body: string;
}

export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

const answer = (status: number, message: string): ReceiverAnswer => ({ status, body: JSON.stringify(status < 300 ? { ok: true, detail: message } : { error: { code: status, message } }) });

/**
 * Verifies (when a secret is set), parses and dispatches one delivery, and says what to answer:
 * 200 handled or deliberately ignored, 400 invalid payload, 401 bad signature, 500 handler failed.
 */
export async function receiveWebhook(options: ReceiverOptions, headers: HeaderSource, rawBody: string | Uint8Array | object): Promise<ReceiverAnswer> {
  const stamp = header(headers, 'webhook-timestamp');
  let delivery: Delivery = { id: header(headers, 'webhook-id') ?? null, timestamp: stamp && /^\d+$/.test(stamp) ? Number(stamp) : null, headers };
  let event: WebhookEvent;
  try {
    if (options.secret !== undefined) {
      if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
        throw new Error('a signed webhook needs the raw body: the request body was parsed before the webhook receiver saw it');
      }
      const verified = verifyWebhook(options.secret, headers, rawBody, { toleranceSeconds: options.toleranceSeconds });
      delivery = { ...delivery, ...verified };
    }
    event = parseWebhook(rawBody);
  } catch (err) {
    if (err instanceof UnsupportedWebhookError) {
      options.onUnsupported?.(err, delivery);
      return answer(200, `ignored: ${err.event}`);
    }
    options.onError?.(err, delivery);
    if (err instanceof WebhookVerificationError) return answer(401, err.message);
    if (err instanceof InvalidWebhookError) return answer(400, err.message);
    return answer(500, 'webhook receiver misconfigured');
  }
  try {
    await options.onEvent(event, delivery);
  } catch (err) {
    options.onError?.(err, delivery);
    return answer(500, 'webhook handler failed');
  }
  return answer(200, event.name);
}
