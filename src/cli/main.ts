import { Command, CommanderError, Help } from 'commander';
import { ApiError } from '@wagate/protocol';
import { VERSION } from '../version.js';
import { channelCommands } from './commands/channels.js';
import { observeCommands } from './commands/observe.js';
import { sandboxCommands } from './commands/sandbox.js';
import { actCommands } from './commands/act.js';
import { settingsCommands } from './commands/settings.js';
import { proxyCommands } from './commands/proxies.js';
import { nodeCommands } from './commands/nodes.js';
import type { Output } from './output.js';

/** `wagate serve`: runs the gateway until SIGTERM or SIGINT. */
async function serve(): Promise<void> {
  // Loaded here, so the client commands start without the server's dependencies.
  const [{ loadConfig }, { startGateway }] = await Promise.all([import('../config.js'), import('../gateway.js')]);
  const gateway = await startGateway(loadConfig());
  if (gateway.generatedAdminToken) {
    // Printed once: only its hash is stored.
    process.stdout.write(`\nAdmin token (shown once, keep it): ${gateway.generatedAdminToken}\n\n`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    // A second signal while closing means "now": a service manager's stop timeout, or Ctrl-C twice.
    if (stopping) process.exit(1);
    stopping = true;
    gateway.app.log.info({ signal }, 'shutting down');
    gateway.close().then(
      () => {
        gateway.app.log.info({ signal }, 'stopped');
        process.exit(0);
      },
      (err: unknown) => {
        gateway.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
}

const program = new Command('wagate')
  .description('wagate: a self-hosted WhatsApp API gateway. Commands other than serve talk to WAGATE_URL with WAGATE_ADMIN_TOKEN.')
  .version(VERSION)
  .option('--json', 'print JSON for scripts instead of tables')
  .showHelpAfterError()
  .exitOverride()
  // Commander lists required options like the others: say which ones a command cannot do without.
  .configureHelp({ optionDescription: (option) => `${option.mandatory ? '(required) ' : ''}${new Help().optionDescription(option)}` });
const out = (): Output => ({ json: Boolean(program.opts<{ json?: boolean }>().json) });

program.command('serve').description('run the gateway (configuration from WAGATE_* environment variables)').action(serve);
channelCommands(program, out);
observeCommands(program, out);
sandboxCommands(program, out);
actCommands(program, out);
settingsCommands(program, out);
proxyCommands(program, out);
nodeCommands(program, out);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const message = err instanceof ApiError ? `${err.status} ${err.message}${err.details ? `: ${err.details}` : ''}` : (err as Error).message;
  process.stderr.write(`wagate: ${message}\n`);
  process.exit(1);
});
