import type { Command } from 'commander';
import type { ProxyList, ProxyView } from '@wagate/protocol';
import { call, targetFromEnv } from '../api.js';
import { printObject, printTable, type Output } from '../output.js';

function proxyRow(p: ProxyView): Record<string, unknown> {
  return {
    id: p.id,
    label: p.label,
    region: p.region ?? '',
    state: p.state,
    health: p.health.status,
    channels: p.channels.length,
    drops: p.health.drops,
    failed: p.health.failed_connects,
    last_error: p.health.last_error ?? '',
  };
}

/** `wagate proxies ls|add|rm|quarantine|release`: the proxy pool (SPEC §11). */
export function proxyCommands(program: Command, out: () => Output): void {
  const proxies = program.command('proxies').description('the proxy pool: channels with proxy "auto" use the healthiest one');
  const show = (p: ProxyView): void => printObject(out(), { ...proxyRow(p), url: p.url, state_reason: p.state_reason ?? '', channels: p.channels.join(' ') });

  proxies
    .command('ls', { isDefault: true })
    .description('every proxy with its state, health and channels')
    .action(async () => {
      const list = await call<ProxyList>(targetFromEnv(), 'GET', '/partner/proxies');
      printTable(out(), list.proxies.map(proxyRow), ['id', 'label', 'region', 'state', 'health', 'channels', 'drops', 'failed', 'last_error'], list);
    });
  proxies
    .command('add <url>')
    .description('add a socks5://, socks5h:// or http:// proxy')
    .requiredOption('--label <label>', 'a name for people')
    .option('--region <region>', 'a region; a move stays in it')
    .action(async (url: string, o: { label: string; region?: string }) => show(await call<ProxyView>(targetFromEnv(), 'PUT', '/partner/proxies', { url, label: o.label, ...(o.region ? { region: o.region } : {}) })));
  proxies
    .command('rm <id>')
    .description('remove a proxy; its channels take another at their next connection')
    .action(async (id: string) => printObject(out(), { id, ...(await call<Record<string, unknown>>(targetFromEnv(), 'DELETE', `/partner/proxies/${id}`)) }));
  proxies
    .command('quarantine <id>')
    .description('no new channels on this proxy')
    .option('--reason <text>', 'why')
    .action(async (id: string, o: { reason?: string }) => show(await call<ProxyView>(targetFromEnv(), 'POST', `/partner/proxies/${id}/quarantine`, o.reason ? { reason: o.reason } : {})));
  proxies
    .command('release <id>')
    .description('back in the pool, once a probe shows it answers')
    .action(async (id: string) => show(await call<ProxyView>(targetFromEnv(), 'POST', `/partner/proxies/${id}/release`, {})));
}
