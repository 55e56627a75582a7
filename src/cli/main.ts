import { loadConfig } from '../config.js';
import { startGateway } from '../gateway.js';

const USAGE = `usage: wagate <command>

commands:
  serve     run the gateway (configuration from WAGATE_* environment variables; see README)
`;

/** `wagate serve`: runs the gateway until SIGTERM or SIGINT. */
async function serve(): Promise<void> {
  const config = loadConfig();
  const gateway = await startGateway(config);
  if (gateway.generatedAdminToken) {
    // Printed once: only its hash is stored.
    process.stdout.write(`\nAdmin token (shown once, keep it): ${gateway.generatedAdminToken}\n\n`);
  }
  const stop = (signal: string): void => {
    gateway.app.log.info({ signal }, 'shutting down');
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        gateway.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

const [command] = process.argv.slice(2);
if (command === 'serve') {
  serve().catch((err: unknown) => {
    console.error(`wagate: ${(err as Error).message}`);
    process.exit(1);
  });
} else {
  process.stderr.write(command ? `wagate: unknown command "${command}"\n\n${USAGE}` : USAGE);
  process.exit(command ? 2 : 0);
}
