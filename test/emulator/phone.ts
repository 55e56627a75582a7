import { Curve, hmacSign, proto, WA_ADV_ACCOUNT_SIG_PREFIX, type BinaryNode } from 'baileys';
import type { DeviceBundle } from './contacts.js';

const QR_PREFIX = 'https://wa.me/settings/linked_devices#';

/** What a companion's QR code carries. */
export interface PairingQr {
  ref: string;
  /** The companion's Noise static key (base64): how the server finds its connection. */
  noiseKey: string;
  identityKey: string;
  /** The companion's ADV secret (base64): the HMAC key of the device identity. */
  advSecret: string;
  platform: string;
}

/** Parses the text of a pairing QR (Baileys' `buildPairingQRData`). */
export function parsePairingQr(text: string): PairingQr {
  if (!text.startsWith(QR_PREFIX)) throw new Error(`not a pairing QR: ${text.slice(0, 40)}`);
  const [ref, noiseKey, identityKey, advSecret, platform] = text.slice(QR_PREFIX.length).split(',');
  if (!ref || !noiseKey || !identityKey || !advSecret) throw new Error('pairing QR is missing fields');
  return { ref, noiseKey, identityKey, advSecret, platform: platform ?? '' };
}

/** A linked device as the phone knows it. */
export interface LinkedDevice {
  index: number;
  jid: string;
  lid: string;
  noiseKey: string;
  /** The Signal bundle it registered with: what a contact's phone encrypts to. */
  bundle?: DeviceBundle;
  /** The phone sent it its history sync (once, at its first login). */
  historySent?: boolean;
}

/** The primary phone: an account key that signs companions, and its list of linked devices. */
export class Phone {
  readonly account = Curve.generateKeyPair();
  readonly devices = new Map<number, LinkedDevice>();
  private nextIndex = 1;

  constructor(
    /** Phone digits, e.g. `15551234567`. */
    readonly number = '15551234567',
    readonly lidUser = '210987654321012',
    readonly pushName = 'Emulated Phone',
  ) {}

  /** The phone scans a QR: answers the `pair-success` stanza for the companion. */
  scan(qr: PairingQr, stanzaId: string): { node: BinaryNode; device: LinkedDevice } {
    const index = this.nextIndex++;
    const device: LinkedDevice = {
      index,
      jid: `${this.number}:${index}@s.whatsapp.net`,
      lid: `${this.lidUser}:${index}@lid`,
      noiseKey: qr.noiseKey,
    };
    const details = proto.ADVDeviceIdentity.encode({ rawId: 1234, timestamp: Math.floor(Date.now() / 1000), keyIndex: index }).finish();
    const identityKey = Buffer.from(qr.identityKey, 'base64');
    const accountSignature = Curve.sign(this.account.private, Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, identityKey]));
    const signed = proto.ADVSignedDeviceIdentity.encode({ details, accountSignatureKey: this.account.public, accountSignature }).finish();
    const hmac = hmacSign(signed, Buffer.from(qr.advSecret, 'base64'));
    const identity = proto.ADVSignedDeviceIdentityHMAC.encode({ details: signed, hmac }).finish();
    const node: BinaryNode = {
      tag: 'iq',
      attrs: { from: 's.whatsapp.net', type: 'set', id: stanzaId, xmlns: 'md' },
      content: [
        {
          tag: 'pair-success',
          attrs: {},
          content: [
            { tag: 'device-identity', attrs: {}, content: identity },
            { tag: 'platform', attrs: { name: 'smba' } },
            { tag: 'device', attrs: { jid: device.jid, lid: device.lid } },
          ],
        },
      ],
    };
    return { node, device };
  }

  /** Confirms a companion's `pair-device-sign`: the device is linked from now on. */
  link(device: LinkedDevice): void {
    this.devices.set(device.index, device);
  }

  /** The user removes a linked device on the phone. */
  unlink(index: number): void {
    this.devices.delete(index);
  }
}
