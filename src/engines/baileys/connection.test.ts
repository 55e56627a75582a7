import { DisconnectReason } from 'baileys';
import { describe, expect, it } from 'vitest';
import { ApiError } from '@wagate/protocol';
import { CREDS_KEY } from './auth-state.js';
import { QR_REFS_ENDED } from './disconnect.js';
import { boom, engineHarness as harness, until } from './testing.js';

describe('baileys connection: lifecycle signals', () => {
  it('reports connecting as launching, then QRs of 60 s and 20 s, and a round that ran out as qr_exhausted', async () => {
    const h = harness();
    const { sock } = await h.attempt();
    await sock.connecting();
    for (const ref of ['ref1', 'ref2', 'ref3']) await sock.qr(`2@${ref},noise,identity,adv`);
    await sock.close(boom(QR_REFS_ENDED, DisconnectReason.timedOut));
    await until(() => h.events.length === 5);
    expect(h.events).toStrictEqual([
      { type: 'launching' },
      { type: 'qr', text: '2@ref1,noise,identity,adv', ttlMs: 60_000 },
      { type: 'qr', text: '2@ref2,noise,identity,adv', ttlMs: 20_000 },
      { type: 'qr', text: '2@ref3,noise,identity,adv', ttlMs: 20_000 },
      { type: 'close', reason: 'qr_exhausted', detail: `${QR_REFS_ENDED}, status 408` },
    ]);
  });

  it('after a scan saves the new account before it reports restart_required, and the next attempt opens with it', async () => {
    const h = harness();
    const first = await h.attempt();
    await first.sock.connecting();
    await first.sock.qr('2@ref1');
    let credsAtClose: string | undefined;
    h.onEvent = (e) => {
      if (e.type === 'close') credsAtClose = h.store.data.get(CREDS_KEY);
    };
    h.store.setDelay = () => 3;
    await first.sock.paired('15551234567');
    void first.sock.close(boom('Stream Errored (restart required)', DisconnectReason.restartRequired));
    await until(() => credsAtClose !== undefined);
    expect(h.events.at(-1)).toMatchObject({ type: 'close', reason: 'restart_required' });
    expect(credsAtClose).toContain('15551234567:7@s.whatsapp.net');
    await first.conn.close();

    const second = await h.attempt();
    expect(second.sock.creds.me?.id).toBe('15551234567:7@s.whatsapp.net');
    expect(second.sock.creds.noiseKey.private).toStrictEqual(first.sock.creds.noiseKey.private);
    await second.sock.connecting();
    await second.sock.open();
    expect(h.events.at(-1)).toStrictEqual({ type: 'open', user: { id: '15551234567', name: '' } });
  });

  it('opens with saved creds straight to the account, named by creds.me', async () => {
    const h = harness();
    h.link();
    const { sock } = await h.attempt();
    await sock.connecting();
    await sock.open();
    expect(h.events).toStrictEqual([{ type: 'launching' }, { type: 'open', user: { id: '15551234567', name: 'Ann' } }]);
  });

  it.each([
    [DisconnectReason.loggedOut, 'Connection Failure', 'logged_out'],
    [DisconnectReason.restartRequired, 'Stream Errored (restart required)', 'restart_required'],
    [DisconnectReason.connectionReplaced, 'Stream Errored (conflict)', 'replaced'],
    [DisconnectReason.forbidden, 'Connection Failure', 'forbidden'],
    [DisconnectReason.multideviceMismatch, 'Multi-device beta not joined', 'forbidden'],
    [DisconnectReason.badSession, 'Stream Errored (unknown)', 'transient'],
    [DisconnectReason.connectionClosed, 'Connection Terminated', 'transient'],
    [DisconnectReason.connectionLost, 'Connection was lost', 'transient'],
    [DisconnectReason.unavailableService, 'Stream Errored (unknown)', 'transient'],
  ])('reports a close with status %i as %s', async (code, message, reason) => {
    const h = harness();
    h.link();
    const { sock } = await h.attempt();
    await sock.connecting();
    await sock.open();
    await sock.close(boom(message, code));
    await until(() => h.events.at(-1)?.type === 'close');
    expect(h.events.at(-1)).toStrictEqual({ type: 'close', reason, detail: `${message}, status ${code}` });
    expect(sock.listening).toBe(false);
  });

  it('lets no write made after a logged_out close land after the wipe that follows it', async () => {
    const h = harness();
    h.link();
    h.store.setDelay = () => 2;
    const { sock } = await h.attempt();
    await sock.open();
    void sock.updateCreds({ lastPropHash: 'before-close' });
    void sock.close(boom('Connection Failure', DisconnectReason.loggedOut));
    await until(() => h.events.at(-1)?.type === 'close');
    expect(h.store.data.get(CREDS_KEY)).toContain('before-close');
    await h.store.wipe();
    await sock.config.auth.keys.set({ session: { late: Buffer.from([1]) } });
    await sock.updateCreds({ lastPropHash: 'after-close' });
    await h.engine.dispose();
    expect(h.store.data.size).toBe(0);
  });

  it('starts a new pairing round after a logout from fresh creds', async () => {
    const h = harness();
    h.link();
    const first = await h.attempt();
    await first.sock.open();
    await first.sock.close(boom('Connection Failure', DisconnectReason.loggedOut));
    await until(() => h.events.at(-1)?.type === 'close');
    await h.store.wipe(); // the lifecycle's wipe_credentials effect
    const second = await h.attempt();
    expect(second.sock.creds.me).toBeUndefined();
    expect(second.sock.creds.registered).toBe(false);
    expect(second.sock.creds.noiseKey.public).not.toStrictEqual(first.sock.creds.noiseKey.public);
  });

  it('reports a connection that cannot start (unreadable creds) as transient, naming why', async () => {
    const h = harness();
    h.store.data.set(CREDS_KEY, '{broken');
    h.engine.connect((e) => void h.events.push(e));
    await until(() => h.events.length === 1);
    expect(h.events[0]).toMatchObject({ type: 'close', reason: 'transient', detail: expect.stringMatching(/^the connection could not start: the stored credentials are unreadable/) });
  });

  it('emits nothing after close() and ends the socket', async () => {
    const h = harness();
    const { conn, sock } = await h.attempt();
    await sock.connecting();
    await conn.close();
    await sock.qr('2@late');
    await sock.close(boom('Connection Terminated', DisconnectReason.connectionClosed));
    expect(h.signals()).toStrictEqual(['launching']);
    expect(sock.ended).toStrictEqual([undefined]);
  });

  it('makes no socket when closed while loading its creds', async () => {
    const h = harness();
    const conn = h.engine.connect((e) => void h.events.push(e));
    await conn.close();
    await h.engine.dispose();
    expect(h.events).toStrictEqual([]);
  });

  it('tells WhatsApp on logout, without reporting the close that follows', async () => {
    const h = harness();
    h.link();
    const { conn, sock } = await h.attempt();
    await sock.open();
    await conn.logout();
    expect(sock.loggedOut).toBe(1);
    expect(h.signals()).toStrictEqual(['open']);
  });
});

describe('baileys connection: pairing code', () => {
  it('asks Baileys for a code while pairing and formats it ABCD-EFGH', async () => {
    const h = harness();
    const { conn, sock } = await h.attempt();
    await sock.qr('2@ref1');
    await expect(conn.requestPairingCode('15551234567')).resolves.toBe('ABCD-1234');
    expect(sock.pairingRequests).toStrictEqual(['15551234567']);
  });

  it('refuses a code outside pairing with 409', async () => {
    const h = harness();
    h.link();
    const { conn, sock } = await h.attempt();
    await sock.open();
    const err = await conn.requestPairingCode('15551234567').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
  });

  it('forgets a code the phone never confirmed: the next round starts fresh', async () => {
    const h = harness();
    const first = await h.attempt();
    await first.sock.qr('2@ref1');
    await first.conn.requestPairingCode('15551234567');
    await first.sock.close(boom(QR_REFS_ENDED, DisconnectReason.timedOut));
    await until(() => h.events.at(-1)?.type === 'close');
    const second = await h.attempt();
    expect(second.sock.creds.me).toBeUndefined();
    expect(second.sock.creds.pairingCode).toBeUndefined();
  });
});
