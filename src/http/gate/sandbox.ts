import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ChannelRuntime } from '../../channel/runtime.js';
import { SandboxEngine } from '../../engines/sandbox/engine.js';
import { SandboxInbound, sandboxInboundContent } from '../../engines/sandbox/inbound.js';
import { DISCONNECT_CLASSES, ErrorBody, MESSAGE_ID_PATTERN, Success, User, errors, type DisconnectClass } from '@wagate/protocol';

/** The channel's sandbox engine; 404 on channels of other engines. */
export function sandboxOf(channel: ChannelRuntime): SandboxEngine {
  const engine = channel.engine;
  if (!(engine instanceof SandboxEngine)) throw errors.notFound(`sandbox controls exist only on sandbox channels (this one runs ${engine.kind})`);
  return engine;
}

/** A sandbox control as both the gate (`/sandbox/...`) and the partner API reach it. */
export interface SandboxControl {
  summary: string;
  body?: TSchema;
  /** The answer, when it says more than `{success}`. */
  answer?: TSchema;
  run(channel: ChannelRuntime, body: never): Promise<Record<string, unknown>>;
}

/** The controls of SPEC §8 that the gate and the partner API share, by name. */
export const SANDBOX_CONTROLS = {
  scan: {
    summary: 'The phone scans the current QR (or confirms the pairing code)',
    body: Type.Object({ user: Type.Optional(Type.Partial(User, { additionalProperties: false })) }, { additionalProperties: false }),
    answer: Type.Object({ success: Type.Boolean(), user: User }),
    run: async (channel: ChannelRuntime, body: { user?: Partial<User> }) => {
      const engine = sandboxOf(channel);
      if (body.user?.id !== undefined && !/^\d{7,15}$/.test(body.user.id)) throw errors.badRequest('body.user.id: use 7-15 digits');
      const user = await engine.scan(body.user);
      await channel.waitFor((s) => s.status === 'AUTH', 5_000);
      return { success: true, user };
    },
  },
  blip: {
    summary: 'A transient drop: AUTH → INIT → LAUNCH → AUTH over duration_ms',
    body: Type.Object({ duration_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })) }, { additionalProperties: false }),
    run: async (channel: ChannelRuntime, body: { duration_ms?: number }) => {
      sandboxOf(channel).blip(body.duration_ms ?? 2500);
      return { success: true };
    },
  },
  flap: {
    summary: '`times` blips, one every `interval_ms`',
    body: Type.Object(
      {
        times: Type.Integer({ minimum: 1, maximum: 100 }),
        interval_ms: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
        duration_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
      },
      { additionalProperties: false },
    ),
    run: async (channel: ChannelRuntime, body: { times: number; interval_ms: number; duration_ms?: number }) => {
      const duration = body.duration_ms ?? Math.min(2500, Math.floor(body.interval_ms / 2));
      sandboxOf(channel).flap(body.times, body.interval_ms, duration);
      return { success: true };
    },
  },
  silence: {
    summary: 'The network stops carrying anything without closing: the liveness watch declares the connection lost',
    run: async (channel: ChannelRuntime) => {
      sandboxOf(channel).silence();
      return { success: true };
    },
  },
  ack_delay: {
    summary: 'The server acknowledges each later send after delay_ms (pings still answered): sends past the ack window answer pending',
    body: Type.Object({ delay_ms: Type.Integer({ minimum: 0, maximum: 600_000 }) }, { additionalProperties: false }),
    run: async (channel: ChannelRuntime, body: { delay_ms: number }) => {
      sandboxOf(channel).messaging.ackDelayMs = body.delay_ms;
      return { success: true };
    },
  },
  unlink: {
    summary: 'The phone logs this device out',
    run: async (channel: ChannelRuntime) => {
      await sandboxOf(channel).unlink();
      return { success: true };
    },
  },
  sync_error: {
    summary: 'The sync with the phone fails: SYNC_ERROR',
    run: async (channel: ChannelRuntime) => {
      sandboxOf(channel).syncError();
      return { success: true };
    },
  },
  stuck: {
    summary: 'The next start hangs in INIT or LAUNCH',
    body: Type.Object({ phase: Type.Union([Type.Literal('INIT'), Type.Literal('LAUNCH')]) }, { additionalProperties: false }),
    run: async (channel: ChannelRuntime, body: { phase: 'INIT' | 'LAUNCH' }) => {
      sandboxOf(channel).stick(body.phase);
      return { success: true };
    },
  },
  fail: {
    summary: 'A disconnect of the given reason class',
    body: Type.Object(
      { reason: Type.Union(DISCONNECT_CLASSES.filter((c) => c !== 'qr_exhausted').map((c) => Type.Literal(c))) },
      { additionalProperties: false },
    ),
    run: async (channel: ChannelRuntime, body: { reason: DisconnectClass }) => {
      sandboxOf(channel).fail(body.reason);
      return { success: true };
    },
  },
  inbound: {
    summary: 'A message arrives: text, or media, a location or a contact from the simulated phone',
    body: SandboxInbound,
    // `recorded`: the gateway stored the message before answering (false: it is held in memory
    // and retried because the store is failing).
    answer: Type.Object({ success: Type.Boolean(), message_id: Type.String(), recorded: Type.Boolean() }),
    run: async (channel: ChannelRuntime, body: SandboxInbound) => {
      const { text, content } = sandboxInboundContent(body);
      const { id, recorded } = await sandboxOf(channel).inbound(body.from, text, body.name, undefined, content);
      return { success: true, message_id: id, recorded };
    },
  },
} satisfies Record<string, SandboxControl>;

export type SandboxControlName = keyof typeof SANDBOX_CONTROLS;

const responses = { 200: Success, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['Sandbox'];

/** The sandbox engine's controls (SPEC §8); 404 on channels of other engines. */
export async function sandboxRoutes(app: FastifyInstance): Promise<void> {
  for (const [name, control] of Object.entries(SANDBOX_CONTROLS) as Array<[string, SandboxControl]>) {
    app.post(
      `/sandbox/${name}`,
      { schema: { tags, summary: control.summary, ...(control.body && { body: control.body }), response: { ...responses, 200: control.answer ?? Success } } },
      async (req) => control.run(req.channel, req.body as never),
    );
  }

  app.post(
    '/sandbox/receipt',
    {
      schema: {
        tags,
        summary: 'The recipient reports a sent message delivered, read or played',
        body: Type.Object(
          { message_id: Type.String({ pattern: MESSAGE_ID_PATTERN }), status: Type.Union([Type.Literal('delivered'), Type.Literal('read'), Type.Literal('played')]) },
          { additionalProperties: false },
        ),
        response: responses,
      },
    },
    async (req) => {
      const body = req.body as { message_id: string; status: 'delivered' | 'read' | 'played' };
      sandboxOf(req.channel).receipt(body.message_id, body.status);
      return { success: true };
    },
  );

  app.post(
    '/sandbox/receipts',
    {
      schema: {
        tags,
        summary: 'Delays of the automatic receipts (null: never)',
        body: Type.Object(
          {
            delivered_ms: Type.Union([Type.Integer({ minimum: 0, maximum: 3_600_000 }), Type.Null()]),
            read_ms: Type.Union([Type.Integer({ minimum: 0, maximum: 3_600_000 }), Type.Null()]),
          },
          { additionalProperties: false },
        ),
        response: responses,
      },
    },
    async (req) => {
      const body = req.body as { delivered_ms: number | null; read_ms: number | null };
      sandboxOf(req.channel).messaging.receipts = { deliveredMs: body.delivered_ms, readMs: body.read_ms };
      return { success: true };
    },
  );

  app.post(
    '/sandbox/refuse',
    {
      schema: {
        tags,
        summary: 'The simulated network refuses the next `count` sends',
        body: Type.Object({ count: Type.Integer({ minimum: 0, maximum: 10_000 }) }, { additionalProperties: false }),
        response: responses,
      },
    },
    async (req) => {
      sandboxOf(req.channel).messaging.refuse((req.body as { count: number }).count);
      return { success: true };
    },
  );

  app.get(
    '/sandbox/sent',
    {
      schema: {
        tags,
        summary: 'Every message the simulated network carried, oldest first',
        response: {
          ...responses,
          200: Type.Object({
            messages: Type.Array(
              Type.Object({
                id: Type.String(),
                chat_id: Type.String(),
                type: Type.String(),
                body: Type.String(),
                at: Type.Integer(),
                edit: Type.Optional(Type.String()),
                media: Type.Optional(Type.Object({ mime_type: Type.String(), file_size: Type.Integer(), sha256: Type.String(), file_name: Type.Optional(Type.String()) })),
                target: Type.Optional(Type.String()),
                emoji: Type.Optional(Type.String()),
                forwarded: Type.Optional(Type.Boolean()),
              }),
            ),
            total: Type.Integer(),
          }),
        },
      },
    },
    async (req) => {
      const sent = sandboxOf(req.channel).messaging.sent;
      return { messages: sent.map(({ chatId, ...m }) => ({ ...m, chat_id: chatId })), total: sent.length };
    },
  );
}
