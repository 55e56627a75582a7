import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { qrPayload, type LifecycleState } from '../../channel/lifecycle.js';
import { qrDataUrl, qrPng } from '../../channel/qr-image.js';
import type { Clock } from '../../channel/clock.js';
import type { ChannelRuntime } from '../../channel/runtime.js';
import { ApiError, ERROR_MESSAGES, ErrorBody, PairingCode, Profile, QR, Success, errors } from '@wagate/protocol';
import { WakeupQuery, wakeUp } from './health.js';

/** How long a pairing-code request waits for a woken channel to reach QR. */
const PAIRING_WAIT_MS = 15_000;

function refuseWhenAuthorized(channel: ChannelRuntime): void {
  const s = channel.state.status;
  if (s === 'AUTH' || s === 'SYNC_ERROR') throw errors.conflict(ERROR_MESSAGES.alreadyAuthenticated, `channel status is ${s}`);
}

/** `GET /users/login`: the QR object with the image as a PNG data URL (wakes the channel when asked). */
export async function loginQr(channel: ChannelRuntime, wakeup: boolean, clock: Clock): Promise<QR> {
  await wakeUp(channel, wakeup);
  refuseWhenAuthorized(channel);
  const qr = qrPayload(channel.state, clock.now());
  return qr.rowdata ? { ...qr, base64: await qrDataUrl(qr.rowdata) } : qr;
}

/** `GET /users/login/{phone}`: a pairing code, once the (woken) channel is pairing. */
export async function pairingCode(channel: ChannelRuntime, phone: string, wakeup: boolean): Promise<PairingCode> {
  if (!/^\d{7,15}$/.test(phone)) throw new ApiError(400, ERROR_MESSAGES.invalidPhone, `"${phone.slice(0, 40)}": use 7-15 digits, no "+" or spaces`);
  refuseWhenAuthorized(channel);
  await wakeUp(channel, wakeup);
  // Only a channel on its way to a QR (no account, starting or pairing) is worth waiting for;
  // any other answers 409 at once.
  const notPairing = () => errors.conflict('channel is not pairing', `channel status is ${channel.state.status}; a pairing code needs status QR`);
  if (!headedForPairing(channel.state)) throw notPairing();
  const ready = await channel.waitFor((s) => s.status === 'QR' && !s.parked, PAIRING_WAIT_MS);
  const conn = channel.liveConnection;
  if (!ready || !conn) throw notPairing();
  return { code: await conn.requestPairingCode(phone) };
}

/** Logs the linked account out (credentials wiped, a new pairing round); 409 when none is linked. */
export async function logout(channel: ChannelRuntime): Promise<{ success: true }> {
  if (!channel.state.user) throw errors.conflict(ERROR_MESSAGES.alreadyLoggedOut, `channel status is ${channel.state.status}`);
  await channel.send({ type: 'logout' });
  return { success: true };
}

/** Whether a pairing code request may wait: the channel has no account and is starting or showing QRs. */
function headedForPairing(s: LifecycleState): boolean {
  if (s.status === 'QR') return !s.parked;
  return s.user === null && (s.status === 'INIT' || s.status === 'LAUNCH');
}

/** `GET /users/login*`, `POST /users/logout`, `GET /users/profile` (SPEC §3). */
export async function userRoutes(app: FastifyInstance): Promise<void> {
  const loginSchema = { tags: ['Users'], querystring: WakeupQuery, response: { 200: QR, 401: ErrorBody, 409: ErrorBody } };

  app.get('/users/login', { schema: { ...loginSchema, summary: 'Login user with QR-base64' } }, async (req) =>
    loginQr(req.channel, (req.query as { wakeup: boolean }).wakeup, app.wagate.clock),
  );

  app.get('/users/login/rowdata', { schema: { ...loginSchema, summary: 'Login user with QR-rowdata' } }, async (req) => {
    await wakeUp(req.channel, (req.query as { wakeup: boolean }).wakeup);
    refuseWhenAuthorized(req.channel);
    return qrPayload(req.channel.state, app.wagate.clock.now());
  });

  app.get(
    '/users/login/image',
    { schema: { tags: ['Users'], summary: 'Login user with QR-image', querystring: WakeupQuery, response: { 401: ErrorBody, 404: ErrorBody, 409: ErrorBody } } },
    async (req, reply) => {
      await wakeUp(req.channel, (req.query as { wakeup: boolean }).wakeup);
      refuseWhenAuthorized(req.channel);
      const qr = qrPayload(req.channel.state, app.wagate.clock.now());
      if (!qr.rowdata) throw errors.notFound(`no QR code is available now (QR status ${qr.status})`);
      return reply.type('image/png').send(await qrPng(qr.rowdata));
    },
  );

  app.get(
    '/users/login/:phone',
    {
      schema: {
        tags: ['Users'],
        summary: 'Get a pairing code for a phone number',
        params: Type.Object({ phone: Type.String() }),
        querystring: WakeupQuery,
        response: { 200: PairingCode, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody },
      },
    },
    async (req) => pairingCode(req.channel, (req.params as { phone: string }).phone, (req.query as { wakeup: boolean }).wakeup),
  );

  app.post(
    '/users/logout',
    { schema: { tags: ['Users'], summary: 'Logout', response: { 200: Success, 401: ErrorBody, 409: ErrorBody } } },
    async (req) => logout(req.channel),
  );

  app.get(
    '/users/profile',
    { schema: { tags: ['Users'], summary: 'User info', response: { 200: Profile, 401: ErrorBody } } },
    async (req) => {
      const channel = req.channel;
      const conn = channel.liveConnection;
      const s = channel.state.status;
      if ((s !== 'AUTH' && s !== 'SYNC_ERROR') || !conn) throw errors.needAuthorization(`channel status is ${s}`);
      return conn.profile();
    },
  );
}
