import type { LifecycleState } from '../channel/lifecycle.js';
import type { ChannelRuntime } from '../channel/runtime.js';
import { errors } from '@wagate/protocol';

/** Sending works in AUTH and in SYNC_ERROR (SPEC §4). */
export function canSend(s: LifecycleState): boolean {
  return s.status === 'AUTH' || s.status === 'SYNC_ERROR';
}

/** A channel that was AUTH and is reconnecting after a drop: sends may wait for it (SPEC §6). */
export function isHoldable(s: LifecycleState): boolean {
  return s.reconnecting && (s.status === 'INIT' || s.status === 'LAUNCH');
}

/** A channel resuming on the node that just took it over (SPEC §10): its run starts afresh, yet sends wait for it. */
function isResuming(s: LifecycleState): boolean {
  return s.status === 'INIT' || s.status === 'LAUNCH';
}

/** Whether a send may wait for the channel: a reconnect, or (`moving`) its first start on a node that just took it over. */
export function mayHold(s: LifecycleState, moving = false): boolean {
  return isHoldable(s) || (moving && isResuming(s));
}

/**
 * Whether a send may go out: `now`; `held` after waiting out a reconnect within `holdMs`;
 * `refused` when the channel cannot send (QR, ERROR, STOP, logged out) or did not come back.
 * `moving`: the channel has just changed nodes, so its first start here holds sends too.
 */
export async function sendHoldOutcome(channel: ChannelRuntime, holdMs: number, moving = false): Promise<'now' | 'held' | 'expired' | 'refused'> {
  if (canSend(channel.state)) return 'now';
  if (!mayHold(channel.state, moving) || holdMs <= 0) return 'refused';
  await channel.waitFor((s) => canSend(s) || !mayHold(s, moving), holdMs);
  return canSend(channel.state) ? 'held' : 'expired';
}

/** Throws Whapi's 401 for a send that cannot go out. */
export function refuseSend(channel: ChannelRuntime, outcome: 'expired' | 'refused', holdMs: number, more = ''): never {
  const s = channel.state;
  const waited = outcome === 'expired' ? `; it did not reconnect within send_hold_ms (${holdMs} ms)` : '';
  throw errors.needAuthorization(`channel status is ${s.status}${waited}${more}`);
}

/** Reads (chats, messages) need AUTH; SYNC_ERROR answers with the cure. */
export function requireReadable(channel: ChannelRuntime): void {
  const s = channel.state.status;
  if (s === 'AUTH') return;
  if (s === 'SYNC_ERROR') {
    throw errors.needAuthorization(
      'channel status is SYNC_ERROR: sync with the phone failed, so chats and messages cannot be read (sending still works); cure: log out (POST /users/logout) and pair the phone again',
    );
  }
  throw errors.needAuthorization(`channel status is ${s}`);
}
