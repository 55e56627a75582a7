import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { deflateSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { decodeBinaryNode, encodeBinaryNode, getBinaryNodeChild, getBinaryNodeChildren, proto, type BinaryNode } from 'baileys';
import { makeAuthority, type Authority } from './certificates.js';
import { Contacts, type DeviceBundle } from './contacts.js';
import { MediaHost } from './media-host.js';
import { receiveMedia, type ReceivedMedia } from './phone-media.js';
import { NoiseResponder, type NoiseTransport } from './noise.js';
import { parsePairingQr, Phone, type LinkedDevice } from './phone.js';

// `ws` comes with Baileys but without type declarations; only this much of it is used.
interface WsSocket {
  readyState: number;
  send(data: Uint8Array): void;
  close(): void;
  terminate(): void;
  on(event: 'message', cb: (data: Buffer) => void): void;
  on(event: 'close', cb: () => void): void;
}
interface WsServer {
  address(): { port: number };
  clients: Set<WsSocket>;
  on(event: 'connection', cb: (ws: WsSocket) => void): void;
  once(event: 'listening', cb: () => void): void;
  close(cb: () => void): void;
}
const { WebSocketServer } = createRequire(import.meta.url)('ws') as { WebSocketServer: new (o: { host: string; port: number }) => WsServer };

const WA_HEADER = Buffer.from('WA\x06\x03', 'latin1');
const ROUTING_PREFIX = Buffer.from('ED\x00\x01', 'latin1');
const SERVER = 's.whatsapp.net';

/** How the emulator ends a connection, and the status Baileys makes of it. */
export type DropKind =
  | 'close' // a plain WebSocket close: 428
  | 'xmlstreamend' // <xmlstreamend/>: 428
  | 'restart' // <stream:error code="515"/>: 515
  | 'replaced' // <stream:error><conflict type="replaced"/></stream:error>: 440
  | 'logout'; // the phone removes the device, <failure reason="401"/>: 401

export interface EmulatorOptions {
  /** Refs per pair-device stanza (each one QR). */
  refs?: number;
}

/** One client connection: framing, the handshake, then binary nodes. */
export class EmulatedConnection {
  /** When the client connected (ms epoch). */
  readonly openedAt = Date.now();
  /** Set once the client's login or registration payload arrived. */
  username: string | null = null;
  device = 0;
  noiseKey = '';
  /** Refs this connection was sent in pair-device. */
  readonly refs = new Set<string>();
  /** While true, the network carries nothing either way, and nothing closes (a dead route, a frozen NAT). */
  silent = false;
  private buffer = Buffer.alloc(0);
  private sawIntro = false;
  private helloAnswered = false;
  private handshake: NoiseResponder | null = null;
  private transport: NoiseTransport | null = null;
  private tag = 0;
  private pendingPair: LinkedDevice | null = null;
  /** The Signal bundle the client registered with (a new companion's payload). */
  private bundle: DeviceBundle | null = null;

  constructor(
    readonly ws: WsSocket,
    private readonly emulator: WhatsAppEmulator,
  ) {
    ws.on('message', (data) => void this.receive(data).catch((err: unknown) => this.emulator.errors.push(err)));
  }

  get open(): boolean {
    return this.ws.readyState === 1;
  }

  /** Sends one binary node. */
  send(node: BinaryNode): void {
    if (!this.transport || !this.open || this.silent) return;
    this.sendFrame(this.transport.encrypt(encodeBinaryNode(node)));
  }

  /** Ends the connection the way `kind` says. */
  drop(kind: DropKind): void {
    if (kind === 'xmlstreamend') this.send({ tag: 'xmlstreamend', attrs: {} });
    if (kind === 'restart') this.send({ tag: 'stream:error', attrs: { code: '515' } });
    if (kind === 'replaced') this.send({ tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] });
    if (kind === 'logout') this.send({ tag: 'failure', attrs: { reason: '401', location: 'emulator' } });
    this.ws.close();
  }

  /** The phone scanned this connection's QR: send pair-success. */
  pair(ref: string, qrText: string): LinkedDevice {
    if (!this.refs.has(ref)) throw new Error(`ref ${ref} was not issued to this connection`);
    const { node, device } = this.emulator.phone.scan(parsePairingQr(qrText), this.nextId());
    if (this.bundle) device.bundle = this.bundle;
    this.pendingPair = device;
    this.send(node);
    return device;
  }

  /** The device this connection logged in as (after `success`). */
  get linked(): LinkedDevice | undefined {
    return this.username === this.emulator.phone.number ? this.emulator.phone.devices.get(this.device) : undefined;
  }

  /** Delivers a message from `from`'s phone (device 0) to this connection's device, encrypted for it. Answers its id. */
  async deliver(from: string, message: proto.IMessage, pushName: string): Promise<string> {
    const device = this.linked;
    if (!device?.bundle) throw new Error('the logged-in device registered no Signal bundle');
    const { type, ciphertext } = await this.emulator.contacts.encrypt(from, device.jid, device.bundle, message);
    const id = `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;
    const mediatype = message.imageMessage ? 'image' : message.documentMessage ? 'document' : undefined;
    const own = from === this.emulator.phone.number;
    this.send({
      tag: 'message',
      attrs: {
        from: `${from}@s.whatsapp.net`,
        id,
        t: String(Math.floor(Date.now() / 1000)),
        type: mediatype ? 'media' : 'text',
        ...(own ? { category: 'peer' } : { notify: pushName }),
      },
      content: [{ tag: 'enc', attrs: { v: '2', type, ...(mediatype && { mediatype }) }, content: ciphertext }],
    });
    return id;
  }

  private nextId(): string {
    return `emu-${++this.tag}`;
  }

  private sendFrame(payload: Uint8Array): void {
    const frame = Buffer.alloc(3 + payload.length);
    frame.writeUIntBE(payload.length, 0, 3);
    frame.set(payload, 3);
    this.ws.send(frame);
  }

  private async receive(data: Buffer): Promise<void> {
    if (this.silent) return;
    this.buffer = Buffer.concat([this.buffer, data]);
    if (!this.sawIntro) {
      if (this.buffer.subarray(0, 4).equals(ROUTING_PREFIX)) {
        if (this.buffer.length < 7) return;
        this.buffer = this.buffer.subarray(7 + this.buffer.readUIntBE(4, 3));
      }
      if (this.buffer.length < 4) return;
      const header = this.buffer.subarray(0, 4);
      if (!header.equals(WA_HEADER)) throw new Error(`bad intro header ${header.toString('hex')}`);
      this.handshake = new NoiseResponder(header, this.emulator.authority.serverStatic, this.emulator.authority.certChain);
      this.buffer = this.buffer.subarray(4);
      this.sawIntro = true;
    }
    while (this.buffer.length >= 3) {
      const size = this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < 3 + size) return;
      const frame = this.buffer.subarray(3, 3 + size);
      this.buffer = this.buffer.subarray(3 + size);
      await this.onFrame(frame);
    }
  }

  private async onFrame(frame: Buffer): Promise<void> {
    if (this.transport) return this.onNode(await decodeBinaryNode(this.transport.decrypt(frame)));
    if (!this.handshake) throw new Error('frame before the intro');
    if (!this.helloAnswered) {
      this.helloAnswered = true;
      return this.sendFrame(this.handshake.serverHello(frame));
    }
    const { clientStatic, payload, transport } = this.handshake.clientFinish(frame);
    this.transport = transport;
    this.noiseKey = clientStatic.toString('base64');
    if (payload.username) {
      this.username = String(payload.username);
      this.device = payload.device ?? 0;
      this.login();
    } else {
      this.bundle = registeredBundle(payload);
      this.offerRefs();
    }
  }

  private login(): void {
    const linked = this.emulator.phone.devices.get(this.device);
    if (this.username !== this.emulator.phone.number || !linked || linked.noiseKey !== this.noiseKey) {
      this.drop('logout');
      return;
    }
    this.emulator.emit('login', this);
    this.send({ tag: 'success', attrs: { t: String(Math.floor(Date.now() / 1000)), lid: linked.lid, props: '1', abprops: '1', location: 'emulator' } });
    this.send({ tag: 'ib', attrs: { from: SERVER }, content: [{ tag: 'offline', attrs: { count: '0' } }] });
    // A phone sends a newly linked device its history once; Baileys holds its events until then (or 20 s).
    if (!linked.historySent) {
      linked.historySent = true;
      this.deliver(this.emulator.phone.number, historyNotification(), '').catch((err: unknown) => this.emulator.errors.push(err));
    }
  }

  private offerRefs(): void {
    const refs = Array.from({ length: this.emulator.refsPerRound }, (_, i) => `emu-ref-${Date.now().toString(36)}-${this.tag}-${i}`);
    for (const ref of refs) this.refs.add(ref);
    this.send({
      tag: 'iq',
      attrs: { from: SERVER, type: 'set', id: this.nextId(), xmlns: 'md' },
      content: [{ tag: 'pair-device', attrs: {}, content: refs.map((ref) => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) })) }],
    });
    this.emulator.emit('pairing', this);
  }

  private onNode(node: BinaryNode): void {
    if (node.tag === 'message') return this.onMessage(node);
    if (node.tag === 'receipt' && node.attrs.id) this.emulator.receipts.push({ id: node.attrs.id, to: node.attrs.to ?? '', type: node.attrs.type ?? 'delivery' });
    if (node.tag !== 'iq') return;
    const { type, id, xmlns } = node.attrs;
    if (type === 'result') {
      if (getBinaryNodeChild(node, 'pair-device-sign') && this.pendingPair) {
        this.emulator.phone.link(this.pendingPair);
        this.pendingPair = null;
        this.emulator.emit('paired', this);
        // WhatsApp always restarts the stream after a fresh pairing.
        this.drop('restart');
      }
      return;
    }
    if (!id) return;
    this.send({ tag: 'iq', attrs: { type: 'result', id, from: SERVER }, content: answerContent(xmlns, node, this.emulator) });
  }

  /** A message stanza: WhatsApp takes it for the recipient and acknowledges it to the sender. */
  private onMessage(node: BinaryNode): void {
    const { id, to } = node.attrs;
    if (!id || !to) return;
    const participants = getBinaryNodeChildren(getBinaryNodeChild(node, 'participants'), 'to');
    const devices = participants.map((p) => ({ jid: p.attrs.jid ?? '', type: getBinaryNodeChild(p, 'enc')?.attrs.type ?? '' }));
    const carried: CarriedMessage = { id, to, devices, connection: this.emulator.connections.indexOf(this), at: Date.now() };
    this.emulator.messages.push(carried);
    // The recipient's phone decrypts its copy: what it shows is what the sender meant.
    const mine = participants.find((p) => p.attrs.jid === to);
    const enc = mine && getBinaryNodeChild(mine, 'enc');
    if (enc?.content instanceof Uint8Array) {
      this.emulator.contacts
        .decrypt(to, this.username ? `${this.username}:${this.device}@s.whatsapp.net` : to, enc.attrs.type ?? '', enc.content)
        .then((message) => {
          if (!message) return;
          carried.message = message;
          carried.media = receiveMedia(this.emulator.media, message) ?? undefined;
          carried.body = message.conversation || message.extendedTextMessage?.text || '';
        })
        .catch((err: unknown) => this.emulator.errors.push(err));
    }
    this.emulator.emit('message', id);
    this.send({ tag: 'ack', attrs: { class: 'message', id, from: to, t: String(Math.floor(Date.now() / 1000)) } });
  }
}

/** A message stanza the emulated server took for its recipient. */
export interface CarriedMessage {
  id: string;
  /** The recipient's jid. */
  to: string;
  /** The devices it was encrypted for, and how (`pkmsg`: the first message of a Signal session). */
  devices: Array<{ jid: string; type: string }>;
  /** The text as the recipient's phone decrypted it (set shortly after arrival, last). */
  body?: string;
  /** The whole message as the recipient's phone decrypted it. */
  message?: proto.Message;
  /** The file of a media message, downloaded from the media host and decrypted by the recipient's phone. */
  media?: ReceivedMedia;
  /** The index of the connection it came over (in `connections`). */
  connection: number;
  at: number;
}

/** What the emulator puts in a query's result: enough for Baileys' login round trips and its sends. */
function answerContent(xmlns: string | undefined, node: BinaryNode, emulator: WhatsAppEmulator): BinaryNode[] | undefined {
  const { contacts, media } = emulator;
  if (xmlns === 'w:m' && getBinaryNodeChild(node, 'media_conn')) {
    return [{ tag: 'media_conn', attrs: { auth: media.auth, ttl: '300', auth_ttl: '3600', max_buckets: '12' }, content: [{ tag: 'host', attrs: { hostname: media.hostname, maxContentLengthBytes: '104857600' } }] }];
  }
  // The account's privacy settings: read receipts on, so a read is a `read` receipt.
  if (xmlns === 'privacy' && node.attrs.type === 'get') {
    return [{ tag: 'privacy', attrs: {}, content: [{ tag: 'category', attrs: { name: 'readreceipts', value: 'all' } }] }];
  }
  // An account without app state: every collection asked for is at its version, with no patches.
  if (xmlns === 'w:sync:app:state') {
    const asked = getBinaryNodeChildren(getBinaryNodeChild(node, 'sync'), 'collection');
    return [{ tag: 'sync', attrs: {}, content: asked.map((c) => ({ tag: 'collection', attrs: { name: c.attrs.name ?? '', version: c.attrs.version ?? '0' } })) }];
  }
  if (xmlns === 'usync') return contacts.usync(node);
  if (xmlns === 'encrypt' && getBinaryNodeChild(node, 'key')) return contacts.bundles(node);
  if (xmlns === 'encrypt' && getBinaryNodeChild(node, 'count')) return [{ tag: 'count', attrs: { value: '812' } }];
  if (xmlns === 'encrypt' && getBinaryNodeChild(node, 'digest')) return [{ tag: 'digest', attrs: {} }];
  return undefined;
}

/** The phone's first history sync for a new device: an empty initial bootstrap, inline (nothing to download). */
function historyNotification(): proto.IMessage {
  const history = proto.HistorySync.encode({ syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, conversations: [], progress: 100 }).finish();
  return {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: { syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, initialHistBootstrapInlinePayload: deflateSync(history), chunkOrder: 0, progress: 100 },
    },
  };
}

/** The Signal bundle in a registration payload (Baileys' `generateRegistrationNode`). */
function registeredBundle(payload: proto.ClientPayload): DeviceBundle | null {
  const d = payload.devicePairingData;
  if (!d?.eRegid || !d.eIdent || !d.eSkeyId || !d.eSkeyVal || !d.eSkeySig) return null;
  return {
    registrationId: Buffer.from(d.eRegid).readUIntBE(0, d.eRegid.length),
    identityKey: d.eIdent,
    signedPreKeyId: Buffer.from(d.eSkeyId).readUIntBE(0, d.eSkeyId.length),
    signedPreKey: d.eSkeyVal,
    signedPreKeySignature: d.eSkeySig,
  };
}

/** A WhatsApp Web server on loopback, with one phone, for the real Baileys client. */
export class WhatsAppEmulator extends EventEmitter {
  readonly authority: Authority = makeAuthority();
  readonly phone = new Phone();
  /** The users messages can be routed to; the account's own phone among them. */
  readonly contacts = new Contacts();
  readonly connections: EmulatedConnection[] = [];
  /** Protocol failures seen on any connection (a test asserts there are none). */
  readonly errors: unknown[] = [];
  /** Every message stanza the server took, in arrival order (a re-send under the same id shows twice). */
  readonly messages: CarriedMessage[] = [];
  /** Receipts clients sent for messages they received (`read`, `inactive`...), in arrival order. */
  readonly receipts: Array<{ id: string; to: string; type: string }> = [];
  readonly refsPerRound: number;
  private constructor(
    private readonly server: WsServer,
    /** WhatsApp's media host (HTTPS on loopback): where clients upload and phones fetch files. */
    readonly media: MediaHost,
    options: EmulatorOptions,
  ) {
    super();
    this.refsPerRound = options.refs ?? 5;
    this.contacts.contact(this.phone.number, this.phone.lidUser);
    server.on('connection', (ws) => {
      const conn = new EmulatedConnection(ws, this);
      this.connections.push(conn);
      ws.on('close', () => this.emit('closed', conn));
    });
  }

  /** Starts an emulator on 127.0.0.1 with an ephemeral port. */
  static async start(options: EmulatorOptions = {}): Promise<WhatsAppEmulator> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => server.once('listening', r));
    return new WhatsAppEmulator(server, await MediaHost.start(), options);
  }

  /** The URL a baileys channel connects to. */
  get url(): string {
    return `ws://127.0.0.1:${this.server.address().port}/ws/chat`;
  }

  /** The connections that are open now. */
  live(): EmulatedConnection[] {
    return this.connections.filter((c) => c.open);
  }

  /** The phone scans QR text: finds the connection that showed it and pairs it. */
  scan(qrText: string): LinkedDevice {
    const qr = parsePairingQr(qrText);
    const conn = this.live().find((c) => c.noiseKey === qr.noiseKey && c.refs.has(qr.ref));
    if (!conn) throw new Error('no open connection shows this QR');
    return conn.pair(qr.ref, qrText);
  }

  /** Drops the one logged-in connection; answers when the emulator closed it (ms epoch). */
  drop(kind: DropKind): number {
    const conn = this.loggedIn();
    if (kind === 'logout') this.phone.unlink(conn.device);
    const at = Date.now();
    conn.drop(kind);
    return at;
  }

  /** The network of a connection (default: the one logged in) stops carrying anything, without closing. */
  silence(conn: EmulatedConnection = this.loggedIn()): number {
    conn.silent = true;
    return Date.now();
  }

  /**
   * A contact's phone sends `message` to the account: encrypted (Signal) for the logged-in device
   * with the bundle it registered, and delivered on its connection. Answers the message id.
   */
  deliver(from: string, message: proto.IMessage, pushName = 'Emulated Contact'): Promise<string> {
    return this.loggedIn().deliver(from, message, pushName);
  }

  private loggedIn(): EmulatedConnection {
    const conns = this.live().filter((c) => c.username);
    if (conns.length !== 1 || !conns[0]) throw new Error(`expected one logged-in connection, found ${conns.length}`);
    return conns[0];
  }

  async close(): Promise<void> {
    for (const ws of this.server.clients) ws.terminate();
    await new Promise<void>((r) => this.server.close(() => r()));
    await this.media.close();
  }
}
