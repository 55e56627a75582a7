// Preloaded into a gateway child process (NODE_OPTIONS=--import): makes its Baileys trust the
// emulator's root key given in WAGATE_TEST_WA_ROOT_KEY (hex). Test-only.
import { WA_CERT_DETAILS } from 'baileys';

const key = process.env.WAGATE_TEST_WA_ROOT_KEY;
if (key) {
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(key, 'hex');
  WA_CERT_DETAILS.SERIAL = 0;
}
