import { Curve, proto, WA_CERT_DETAILS } from 'baileys';

type KeyPair = { private: Uint8Array; public: Uint8Array };

/** The emulator's stand-in for WhatsApp's long-term root: signs the intermediate certificate. */
export interface Authority {
  root: KeyPair;
  /** The server's static Noise key, certified by the leaf. */
  serverStatic: KeyPair;
  /** The encoded CertChain the server sends in ServerHello. */
  certChain: Uint8Array;
}

/** A fresh root, intermediate and leaf certificate for one emulator. */
export function makeAuthority(): Authority {
  const root = Curve.generateKeyPair();
  const intermediate = Curve.generateKeyPair();
  const serverStatic = Curve.generateKeyPair();
  // issuerSerial 0 is set explicitly: Baileys compares it to WA_CERT_DETAILS.SERIAL, and an
  // unset proto field decodes as null.
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({ serial: 1, issuerSerial: 0, key: intermediate.public }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({ serial: 2, issuerSerial: 1, key: serverStatic.public }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
  return { root, serverStatic, certChain };
}

/**
 * Makes the Baileys module instance of this process trust `rootPublicKey`. Baileys reads
 * WA_CERT_DETAILS at handshake time, so this works after import as long as it is the same
 * module instance the engine loads (callers check that).
 */
export function trustRoot(rootPublicKey: Uint8Array): void {
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootPublicKey);
  WA_CERT_DETAILS.SERIAL = 0;
}
