import { DisconnectReason } from 'baileys';
import type { DisconnectClass } from '@wagate/protocol';

/** The message Baileys ends a pairing round with, once WhatsApp's QR refs run out. */
export const QR_REFS_ENDED = 'QR refs attempts ended';

/**
 * The status code WhatsApp uses in a connect failure for a (temporary) ban. Baileys has no name
 * for it and passes the code through from the `<failure reason="402">` stanza.
 */
export const TEMPORARILY_BANNED = 402;

export interface Disconnect {
  reason: DisconnectClass;
  detail: string;
}

/**
 * How a closed Baileys connection is classified for the lifecycle (see docs/baileys.md):
 * - 401 loggedOut → logged_out; 515 restartRequired → restart_required (after every pairing);
 *   440 connectionReplaced → replaced; 403 forbidden → forbidden; 402 → banned;
 * - 408 with "QR refs attempts ended" → qr_exhausted (the pairing round is over);
 * - 411 multideviceMismatch → forbidden: WhatsApp refuses this client, and retrying changes nothing;
 * - 500 badSession → transient: it is also Baileys' catch-all for unknown stream errors, so wiping
 *   credentials on it would unlink working accounts; the reconnect cap bounds a truly bad session;
 * - a transport error (Baileys' "WebSocket Error (...)", e.g. a refused connection or an HTTP status
 *   at the upgrade) → transient whatever its code: only WhatsApp's own stanzas log a device out;
 * - everything else → transient.
 */
export function classifyDisconnect(error: unknown): Disconnect {
  if (!(error instanceof Error)) return { reason: 'transient', detail: 'the connection closed without an error' };
  const code = statusCode(error);
  const detail = code === null ? error.message : `${error.message}, status ${code}`;
  if (error.message.startsWith('WebSocket Error')) return { reason: 'transient', detail: unreachable(error.message) };
  return { reason: classOf(code, error.message), detail };
}

function classOf(code: number | null, message: string): DisconnectClass {
  switch (code) {
    case DisconnectReason.loggedOut:
      return 'logged_out';
    case DisconnectReason.restartRequired:
      return 'restart_required';
    case DisconnectReason.connectionReplaced:
      return 'replaced';
    case DisconnectReason.forbidden:
    case DisconnectReason.multideviceMismatch:
      return 'forbidden';
    case TEMPORARILY_BANNED:
      return 'banned';
    case DisconnectReason.timedOut:
      return message === QR_REFS_ENDED ? 'qr_exhausted' : 'transient';
    default:
      return 'transient';
  }
}

/** `WebSocket Error (getaddrinfo ENOTFOUND web.whatsapp.com)` → `WhatsApp unreachable: getaddrinfo ENOTFOUND web.whatsapp.com`. */
function unreachable(message: string): string {
  const inner = /^WebSocket Error \((.*)\)$/s.exec(message)?.[1] ?? message;
  return `WhatsApp unreachable: ${inner}`;
}

/** The HTTP-like status code of a Boom error (Baileys' errors), if it has one. */
function statusCode(error: Error): number | null {
  const output = (error as { output?: { statusCode?: unknown } }).output;
  return typeof output?.statusCode === 'number' ? output.statusCode : null;
}
