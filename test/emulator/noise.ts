import { createHash, hkdfSync } from 'node:crypto';
import { aesDecryptGCM, aesEncryptGCM, Curve, NOISE_MODE, proto } from 'baileys';

type KeyPair = { private: Uint8Array; public: Uint8Array };

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

const iv = (counter: number): Buffer => {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(counter, 8);
  return b;
};

/** HKDF-SHA256 with empty info, split into two 32-byte keys (WhatsApp's `localHKDF`). */
function split(ikm: Uint8Array, salt: Uint8Array): [Buffer, Buffer] {
  const key = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.alloc(0), 64));
  return [key.subarray(0, 32), key.subarray(32)];
}

/** One direction pair of transport keys with their own counters. */
export class NoiseTransport {
  private readCounter = 0;
  private writeCounter = 0;

  constructor(
    private readonly encKey: Buffer,
    private readonly decKey: Buffer,
  ) {}

  encrypt(plaintext: Uint8Array): Buffer {
    return aesEncryptGCM(plaintext, this.encKey, iv(this.writeCounter++), Buffer.alloc(0));
  }

  decrypt(ciphertext: Uint8Array): Buffer {
    return aesDecryptGCM(ciphertext, this.decKey, iv(this.readCounter++), Buffer.alloc(0));
  }
}

/**
 * The responder side of WhatsApp's Noise XX handshake. The client mixes the 4-byte WA header
 * and its ephemeral key into the hash before it sends ClientHello; the server does the same.
 */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private readonly ephemeral: KeyPair = Curve.generateKeyPair();

  constructor(
    header: Uint8Array,
    private readonly staticKey: KeyPair,
    private readonly certChain: Uint8Array,
  ) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
    this.authenticate(header);
  }

  /** ClientHello in, ServerHello out. */
  serverHello(clientHello: Uint8Array): Uint8Array {
    const hello = proto.HandshakeMessage.decode(clientHello);
    const clientEphemeral = hello.clientHello?.ephemeral;
    if (!clientEphemeral) throw new Error('no client ephemeral key');
    this.authenticate(clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientEphemeral));
    const staticEnc = this.encrypt(this.staticKey.public);
    this.mixIntoKey(Curve.sharedKey(this.staticKey.private, clientEphemeral));
    const payload = this.encrypt(this.certChain);
    return proto.HandshakeMessage.encode({ serverHello: { ephemeral: this.ephemeral.public, static: staticEnc, payload } }).finish();
  }

  /** ClientFinish in: the client's static (noise) key, its login or registration payload, and the transport. */
  clientFinish(frame: Uint8Array): { clientStatic: Buffer; payload: proto.ClientPayload; transport: NoiseTransport } {
    const finish = proto.HandshakeMessage.decode(frame).clientFinish;
    if (!finish?.static || !finish.payload) throw new Error('incomplete ClientFinish');
    // One counter for the whole handshake: the client encrypted its static key with nonce 1.
    const clientStatic = this.decrypt(finish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStatic));
    const payload = proto.ClientPayload.decode(this.decrypt(finish.payload));
    const [clientWrite, clientRead] = split(new Uint8Array(0), this.salt);
    return { clientStatic, payload, transport: new NoiseTransport(clientRead, clientWrite) };
  }

  private authenticate(data: Uint8Array): void {
    this.hash = sha256(this.hash, data);
  }

  private mixIntoKey(ikm: Uint8Array): void {
    const [write, read] = split(ikm, this.salt);
    this.salt = write;
    this.key = read;
    this.counter = 0;
  }

  private encrypt(plaintext: Uint8Array): Buffer {
    const out = aesEncryptGCM(plaintext, this.key, iv(this.counter++), this.hash);
    this.authenticate(out);
    return out;
  }

  private decrypt(ciphertext: Uint8Array): Buffer {
    const out = aesDecryptGCM(ciphertext, this.key, iv(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return out;
  }
}
