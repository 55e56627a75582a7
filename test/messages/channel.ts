import { expect } from 'vitest';
import { client, until, type Answer, type Call } from '../support/http.js';

// Shared set-up for the messaging tests: paired sandbox channels and readers for what the
// simulated network carried.

/** Sandbox timings that reach QR in about 40 ms. */
export const FAST = { init_ms: 20, launch_ms: 20 };
/** FAST, without the automatic receipts (they would move statuses under the assertions). */
export const QUIET = { ...FAST, receipt_delivered_ms: null, receipt_read_ms: null };
/** A recipient whose chat id also fits Whapi's `ChatID` pattern (10+ digits). */
export const RECIPIENT = '61400111222';
export const RECIPIENT_CHAT = `${RECIPIENT}@s.whatsapp.net`;

/** A message the sandbox network carried, as `GET /sandbox/sent` lists it. */
export interface SentRow {
  id: string;
  chat_id: string;
  body: string;
  at: number;
}

/** Anything that can create a channel: an in-process test gateway or a partner caller. */
export type CreateChannel = (body: Record<string, unknown>) => Promise<{ id: string; token: string; gate: Call }>;

/** A channel creator that talks to the partner API of a gateway at `url`. */
export function partnerCreator(url: string, adminToken: string): CreateChannel {
  return async (body) => {
    const res = await client(url, adminToken)<{ id: string; token: string }>('PUT', '/partner/channels', { name: 'messages', engine: 'sandbox', ...body });
    if (res.status !== 200) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: res.body.id, token: res.body.token, gate: client(url, res.body.token) };
  };
}

/** The channel's status text, without waking it. */
export async function statusOf(gate: Call): Promise<string> {
  return (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text;
}

/** Waits until the channel shows `status`. */
export async function reach(gate: Call, status: string, timeoutMs = 15_000): Promise<void> {
  await until(async () => (await statusOf(gate)) === status, status, timeoutMs);
}

/** Creates a sandbox channel, scans its QR and waits for AUTH. */
export async function pairedChannel(
  create: CreateChannel,
  body: Record<string, unknown> = {},
  user = { id: '61371989950', name: 'Jonathan' },
): Promise<{ id: string; token: string; gate: Call }> {
  const ch = await create({ sandbox: QUIET, ...body });
  await reach(ch.gate, 'QR');
  const scanned = await ch.gate('POST', '/sandbox/scan', { user });
  expect(scanned.status, JSON.stringify(scanned.body)).toBe(200);
  await reach(ch.gate, 'AUTH');
  return ch;
}

/** Every message the channel's simulated network carried. */
export async function sentLog(gate: Call): Promise<SentRow[]> {
  const res = await gate<{ messages: SentRow[]; total: number }>('GET', '/sandbox/sent');
  expect(res.status).toBe(200);
  expect(res.body.total).toBe(res.body.messages.length);
  return res.body.messages;
}

/** Sends a text and answers the raw HTTP answer (a SentMessage or an error body). */
export function sendText(gate: Call, body: Record<string, unknown>, headers?: Record<string, string>): Promise<Answer<any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return gate('POST', '/messages/text', body, headers);
}
