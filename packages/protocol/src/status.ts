/**
 * The channel status table. This is the only place a status code is spelled.
 * Codes 1-5 are Whapi's documented numbers; 0, 6 and 7 are wagate's choice for texts that
 * Whapi names without a number.
 */
export const STATUS = {
  NOT_INIT: 0,
  INIT: 1,
  LAUNCH: 2,
  QR: 3,
  AUTH: 4,
  ERROR: 5,
  SYNC_ERROR: 6,
  STOP: 7,
} as const;

export type StatusText = keyof typeof STATUS;
export type StatusCode = (typeof STATUS)[StatusText];

export const STATUS_TEXTS = Object.keys(STATUS) as StatusText[];

/** The `{code, text}` pair that Whapi's ChannelStatus schema describes. */
export interface ChannelStatus {
  code: StatusCode;
  text: StatusText;
}

/** The wire form of a status. */
export function channelStatus(text: StatusText): ChannelStatus {
  return { code: STATUS[text], text };
}

/** Why a connection ended, as the lifecycle classifies it. */
export const DISCONNECT_CLASSES = [
  'transient',
  'logged_out',
  'restart_required',
  'replaced',
  'banned',
  'forbidden',
  'qr_exhausted',
] as const;

export type DisconnectClass = (typeof DISCONNECT_CLASSES)[number];
