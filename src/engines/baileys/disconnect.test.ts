import { Boom } from '@hapi/boom';
import { DisconnectReason } from 'baileys';
import { describe, expect, it } from 'vitest';
import { classifyDisconnect, QR_REFS_ENDED } from './disconnect.js';

const boom = (message: string, statusCode: number): Boom => new Boom(message, { statusCode });

describe('classifyDisconnect', () => {
  it.each([
    ['loggedOut', DisconnectReason.loggedOut, 'Connection Failure', 'logged_out'],
    ['restartRequired', DisconnectReason.restartRequired, 'Stream Errored (restart required)', 'restart_required'],
    ['connectionReplaced', DisconnectReason.connectionReplaced, 'Stream Errored (conflict)', 'replaced'],
    ['forbidden', DisconnectReason.forbidden, 'Connection Failure', 'forbidden'],
    ['multideviceMismatch', DisconnectReason.multideviceMismatch, 'Multi-device beta not joined', 'forbidden'],
    ['a temporary ban (402)', 402, 'Connection Failure', 'banned'],
    ['badSession', DisconnectReason.badSession, 'Stream Errored (unknown)', 'transient'],
    ['connectionClosed', DisconnectReason.connectionClosed, 'Connection Terminated', 'transient'],
    ['connectionLost', DisconnectReason.connectionLost, 'Connection was lost', 'transient'],
    ['unavailableService', DisconnectReason.unavailableService, 'Stream Errored (unknown)', 'transient'],
    ['an unknown code', 499, 'Connection Failure', 'transient'],
  ])('classifies %s (%i) as %s', (_name, code, message, expected) => {
    expect(classifyDisconnect(boom(message, code))).toStrictEqual({ reason: expected, detail: `${message}, status ${code}` });
  });

  it('ends the pairing round only on 408 "QR refs attempts ended"', () => {
    expect(classifyDisconnect(boom(QR_REFS_ENDED, DisconnectReason.timedOut)).reason).toBe('qr_exhausted');
    expect(classifyDisconnect(boom('Connection was lost', DisconnectReason.timedOut)).reason).toBe('transient');
  });

  it('never logs a device out on a transport error, whatever status it carries', () => {
    const refused = boom('WebSocket Error (connect ECONNREFUSED 127.0.0.1:1)', 408);
    expect(classifyDisconnect(refused)).toStrictEqual({ reason: 'transient', detail: 'WhatsApp unreachable: connect ECONNREFUSED 127.0.0.1:1' });
    expect(classifyDisconnect(boom('WebSocket Error (Unexpected server response: 401)', 401)).reason).toBe('transient');
  });

  it('treats a close without a Boom status as transient with its message', () => {
    expect(classifyDisconnect(new Error('socket hang up'))).toStrictEqual({ reason: 'transient', detail: 'socket hang up' });
    expect(classifyDisconnect(undefined)).toStrictEqual({ reason: 'transient', detail: 'the connection closed without an error' });
  });
});
