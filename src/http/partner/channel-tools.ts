import type { FastifyInstance } from 'fastify';
import { partnerDeliveryRoutes } from './deliveries.js';
import { partnerHistoryRoutes } from './history.js';
import { partnerPairingRoutes } from './pairing.js';
import { partnerSandboxRoutes } from './sandbox.js';
import { partnerSettingsRoutes } from './settings.js';
import { partnerActionRoutes } from './actions.js';

/**
 * The per-channel reads and actions of the gate API, by channel id under `/partner/channels/:id/`,
 * for holders of the admin token (the dashboard, the CLI). Each calls the service the gate route calls.
 */
export async function partnerChannelToolRoutes(app: FastifyInstance): Promise<void> {
  await app.register(partnerPairingRoutes);
  await app.register(partnerHistoryRoutes);
  await app.register(partnerSettingsRoutes);
  await app.register(partnerDeliveryRoutes);
  await app.register(partnerSandboxRoutes);
  await app.register(partnerActionRoutes);
}
