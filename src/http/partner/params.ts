import { CHANNEL_ID_PATTERN } from '../../channel/tokens.js';
import { Type } from '@sinclair/typebox';
import { ErrorBody } from '@wagate/protocol';

/** `:id` of `/partner/channels/:id/...`: a channel id as wagate issues them (`MANTIS-M72HC`). */
export const ChannelIdParams = Type.Object({ id: Type.String({ pattern: CHANNEL_ID_PATTERN }) });
export interface ChannelIdParams {
  id: string;
}

/** The errors every per-channel partner route may answer, in Whapi's shape. */
export const partnerErrors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export const tags = ['Partner'];
