import {
  Curve,
  encodeBigEndian,
  encodeWAMessage,
  generateRegistrationId,
  generateSignalPubKey,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  jidDecode,
  proto,
  signedKeyPair,
  unpadRandomMax16,
  xmppPreKey,
  xmppSignedPreKey,
  type BinaryNode,
} from 'baileys';
import { ProtocolAddress, SessionBuilder, SessionCipher, type SessionRecord, type SignalStorage } from 'libsignal';

/** What a companion device registered with the server (ClientPayload.devicePairingData): its Signal bundle without one-time pre-keys. */
export interface DeviceBundle {
  registrationId: number;
  /** 32-byte Curve25519 keys, as registered */
  identityKey: Uint8Array;
  signedPreKeyId: number;
  signedPreKey: Uint8Array;
  signedPreKeySignature: Uint8Array;
}

/** One WhatsApp user's primary device as the server knows it: its LID and its Signal key bundle. */
interface Contact {
  phone: string;
  lid: string;
  registrationId: number;
  identity: { public: Uint8Array; private: Uint8Array };
  signedPreKey: ReturnType<typeof signedKeyPair>;
  preKey: { public: Uint8Array; private: Uint8Array };
  /** The device's Signal sessions with its senders, as its phone keeps them. */
  sessions: Map<string, SessionRecord>;
}

/**
 * The users the emulated server can route messages to, each with one device (0): what it answers
 * to a usync device query (devices and LID) and to a pre-key fetch (the Signal bundle), so Baileys
 * encrypts a real message for the recipient.
 */
export class Contacts {
  private readonly byPhone = new Map<string, Contact>();
  private readonly byLid = new Map<string, Contact>();
  private nextLid = 310000000000000;

  /** The contact of `phone`, made on first sight (`lid`: a known LID user, e.g. the account's). */
  contact(phone: string, lid?: string): Contact {
    const known = this.byPhone.get(phone);
    if (known) return known;
    const identity = Curve.generateKeyPair();
    const contact: Contact = {
      phone,
      lid: lid ?? String(this.nextLid++),
      registrationId: generateRegistrationId(),
      identity,
      signedPreKey: signedKeyPair(identity, 1),
      preKey: Curve.generateKeyPair(),
      sessions: new Map(),
    };
    this.byPhone.set(phone, contact);
    this.byLid.set(contact.lid, contact);
    return contact;
  }

  /**
   * The recipient's phone decrypts what a sender device encrypted for it (`pkmsg` or `msg`) and
   * answers the message; null when `jid` is not a contact's device.
   */
  async decrypt(jid: string, sender: string, type: string, ciphertext: Uint8Array): Promise<proto.Message | null> {
    const contact = this.byJid(jid);
    if (!contact) return null;
    const from = jidDecode(sender);
    const cipher = new SessionCipher(storage(contact), new ProtocolAddress(from?.user ?? sender, from?.device ?? 0));
    const padded = type === 'pkmsg' ? await cipher.decryptPreKeyWhisperMessage(ciphertext) : await cipher.decryptWhisperMessage(ciphertext);
    return proto.Message.decode(unpadRandomMax16(padded));
  }

  /**
   * The phone of `phone` encrypts a message for a device (`jid`, with the key bundle the device
   * registered): a `pkmsg` that opens a Signal session, or a `msg` on the session already open.
   */
  async encrypt(phone: string, jid: string, bundle: DeviceBundle, message: proto.IMessage): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Buffer }> {
    const contact = this.contact(phone);
    const to = jidDecode(jid);
    const address = new ProtocolAddress(to?.user ?? jid, to?.device ?? 0);
    const store = storage(contact);
    if (!(await store.loadSession(address.toString()))?.haveOpenSession()) {
      // No one-time pre-key: the server has none of a companion's (the emulator asks for no upload).
      await new SessionBuilder(store, address).initOutgoing({
        preKey: undefined as unknown as { keyId: number; publicKey: Uint8Array },
        registrationId: bundle.registrationId,
        identityKey: Buffer.from(generateSignalPubKey(bundle.identityKey)),
        signedPreKey: { keyId: bundle.signedPreKeyId, publicKey: Buffer.from(generateSignalPubKey(bundle.signedPreKey)), signature: Buffer.from(bundle.signedPreKeySignature) },
      });
    }
    const sealed = await new SessionCipher(store, address).encrypt(encodeWAMessage(message));
    return { type: sealed.type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(sealed.body as unknown as Uint8Array) };
  }

  private byJid(jid: string): Contact | undefined {
    const decoded = jidDecode(jid);
    return decoded ? (decoded.server === 'lid' ? this.byLid.get(decoded.user) : this.byPhone.get(decoded.user)) : undefined;
  }

  /** The `<usync>` result for a device query: device 0 and the LID of every user asked about. */
  usync(query: BinaryNode): BinaryNode[] {
    const usync = getBinaryNodeChild(query, 'usync');
    const users = getBinaryNodeChildren(getBinaryNodeChild(usync, 'list'), 'user');
    const list = users.flatMap((user): BinaryNode[] => {
      const jid = user.attrs.jid;
      const decoded = jid ? jidDecode(jid) : undefined;
      if (!jid || !decoded || decoded.server !== 's.whatsapp.net') return [];
      const contact = this.contact(decoded.user);
      return [
        {
          tag: 'user',
          attrs: { jid },
          content: [
            { tag: 'devices', attrs: {}, content: [{ tag: 'device-list', attrs: {}, content: [{ tag: 'device', attrs: { id: '0' } }] }] },
            { tag: 'lid', attrs: { val: `${contact.lid}@lid` } },
          ],
        },
      ];
    });
    return [{ tag: 'usync', attrs: {}, content: [{ tag: 'list', attrs: {}, content: list }] }];
  }

  /** The `<list>` result for a pre-key fetch: the bundle of every device asked about. */
  bundles(query: BinaryNode): BinaryNode[] {
    const users = getBinaryNodeChildren(getBinaryNodeChild(query, 'key'), 'user');
    const list = users.flatMap((user): BinaryNode[] => {
      const jid = user.attrs.jid;
      const contact = jid ? this.byJid(jid) : undefined;
      if (!jid || !contact) return [];
      return [
        {
          tag: 'user',
          attrs: { jid },
          content: [
            { tag: 'registration', attrs: {}, content: encodeBigEndian(contact.registrationId, 4) },
            { tag: 'type', attrs: {}, content: Buffer.from([5]) },
            { tag: 'identity', attrs: {}, content: contact.identity.public },
            xmppPreKey(contact.preKey, 1),
            xmppSignedPreKey(contact.signedPreKey),
          ],
        },
      ];
    });
    return [{ tag: 'list', attrs: {}, content: list }];
  }
}

/** A contact's Signal store: its keys, and sessions in memory. The one-time pre-key is kept, so a re-sent pkmsg decrypts too. */
function storage(contact: Contact): SignalStorage {
  const pair = (k: { public: Uint8Array; private: Uint8Array }) => ({ privKey: Buffer.from(k.private), pubKey: Buffer.from(generateSignalPubKey(k.public)) });
  return {
    loadSession: async (id) => contact.sessions.get(id),
    storeSession: async (id, session) => void contact.sessions.set(id, session),
    isTrustedIdentity: () => true,
    loadPreKey: async () => pair(contact.preKey),
    removePreKey: () => undefined,
    loadSignedPreKey: () => pair(contact.signedPreKey.keyPair),
    getOurRegistrationId: () => contact.registrationId,
    getOurIdentity: () => pair(contact.identity),
  };
}
