import type { HistoryEntry } from '@wagate/protocol';
import type { Effect } from '../channel/lifecycle.js';
import type { RemediationInput } from './policy.js';

/** History reasons of an operator's hand on the channel (ChannelService and POST /users/logout). */
const OPERATOR_REASONS: ReadonlySet<string> = new Set(['operator_restart', 'operator_start', 'operator_stop', 'logout']);
/** Reasons the lifecycle gives a drop out of AUTH. */
const DROP_REASONS: ReadonlySet<string> = new Set(['connection_lost', 'restart_required']);

/** Whether a status change is a drop out of AUTH (the lifecycle reconnecting a linked channel). */
export function isDrop({ from, to, reason }: Pick<HistoryEntry, 'from' | 'to' | 'reason'>): boolean {
  return (from === 'AUTH' || from === 'SYNC_ERROR') && to === 'INIT' && DROP_REASONS.has(reason);
}

/** What one committed lifecycle step means to the remediation policy, in order. Pure. */
export function observe(effects: Effect[]): RemediationInput[] {
  const inputs: RemediationInput[] = [];
  for (const effect of effects) {
    if (effect.kind === 'emit' && effect.event.name === 'alerts.post') {
      const { alert } = effect.event.payload as { alert: { kind: string } };
      if (alert.kind === 'stuck_launch') inputs.push({ type: 'stuck', phase: 'LAUNCH' });
      continue;
    }
    if (effect.kind !== 'record') continue;
    const { from, to, reason, detail } = effect.entry;
    if (OPERATOR_REASONS.has(reason)) inputs.push({ type: 'operator' });
    else if (reason === 'logged_out') inputs.push({ type: 'logged_out' });
    else if (from === to) continue;
    else if (isDrop(effect.entry)) inputs.push({ type: 'drop' });
    else if (to === 'AUTH') inputs.push({ type: 'auth' });
    else if (to === 'SYNC_ERROR') inputs.push({ type: 'sync_error' });
    else if (to === 'ERROR' && reason === 'init_timeout') inputs.push({ type: 'stuck', phase: 'INIT' });
    else if (to === 'ERROR') inputs.push({ type: 'error', reason, detail: detail ?? null });
  }
  return inputs;
}
