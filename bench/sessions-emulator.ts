/**
 * The WhatsApp Web emulator in a process of its own for `npm run bench:sessions`, so its memory
 * and CPU (the emulated server and phones) are not counted as the gateway's. Prints one JSON line
 * with its URL and root key, then takes one JSON command a line on stdin: `{"scan": rowdata}`
 * answers `{"scanned": true}` (or `{"error": ...}`); `{"cpu": true}` answers its CPU time so far.
 */
import { createInterface } from 'node:readline';
import { WhatsAppEmulator } from '../test/emulator/server.js';

console.info = () => undefined; // libsignal logs every session it opens
const emulator = await WhatsAppEmulator.start();
const write = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
write({ url: emulator.url, root: Buffer.from(emulator.authority.root.public).toString('hex') });
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { id: number; scan?: string; cpu?: boolean };
  try {
    if (cmd.scan) {
      emulator.scan(cmd.scan);
      write({ id: cmd.id, scanned: true });
    } else if (cmd.cpu) {
      const { user, system } = process.cpuUsage();
      write({ id: cmd.id, cpu_ms: (user + system) / 1000, rss_mb: process.memoryUsage().rss / 1_048_576, errors: emulator.errors.length });
    }
  } catch (err) {
    write({ id: cmd.id, error: String(err) });
  }
}
await emulator.close();
