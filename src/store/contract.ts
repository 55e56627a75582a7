import { afterEach, beforeEach, describe } from 'vitest';
import { changeContract } from './contract/changes.js';
import { claimContract } from './contract/claims.js';
import { groupChangeContract } from './contract/group-changes.js';
import { channelContract } from './contract/channels.js';
import { credentialContract } from './contract/credentials.js';
import { deliveryContract } from './contract/deliveries.js';
import { deliveryAdminContract } from './contract/delivery-admin.js';
import { mediaContract } from './contract/media.js';
import { messageContract } from './contract/messages.js';
import { proxyContract } from './contract/proxies.js';
import { retentionContract } from './contract/retention.js';
import type { Store } from './types.js';

/** A fresh, empty, not yet migrated store, and how to dispose of it afterwards. */
export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/**
 * The behaviour every Store implementation must show. Each test gets its own fresh store from
 * `makeStore`, migrated here, so the suite also exercises migrate() on an empty database.
 */
export function describeStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let current: { store: Store; cleanup: () => Promise<void> } | undefined;
    const store = (): Store => {
      if (!current) throw new Error('no store: beforeEach has not run');
      return current.store;
    };

    beforeEach(async () => {
      current = await makeStore();
      await current.store.migrate();
    });

    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });

    describe('channels', () => channelContract(store));
    describe('changes, history and events', () => changeContract(store));
    describe('changes of many channels at once (group commit)', () => groupChangeContract(store));
    describe('credentials, meta and upkeep', () => credentialContract(store));
    describe('delivery claims and hand-over', () => claimContract(store));
    describe('webhook deliveries', () => deliveryContract(store));
    describe('webhook deliveries: listing, replay, failing a queue', () => deliveryAdminContract(store));
    describe('messages, chats and idempotency keys', () => messageContract(store));
    describe('the proxy pool', () => proxyContract(store));
    describe('media files', () => mediaContract(store));
    describe('retention', () => retentionContract(store));
  });
}
