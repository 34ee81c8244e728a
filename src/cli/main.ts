#!/usr/bin/env node
import { Argument, Command, InvalidArgumentError } from 'commander';
import { DEFAULT_HTTP_PORT, DEFAULT_SIP_PORT } from '../config/config-schema.js';
import { DAEMON_VERSION } from '../daemon/daemon.js';
import { runList, runUnsubscribe } from './api-commands.js';
import { runPublish } from './publish-command.js';
import { runStart } from './start-command.js';
import { runWatch } from './watch-command.js';

const DEFAULT_PROXY = `sip:127.0.0.1:${DEFAULT_SIP_PORT}`;
const DEFAULT_API = `http://127.0.0.1:${DEFAULT_HTTP_PORT}`;

function positiveInt(what: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${what}: expected a whole number ≥ 1`);
    return Number(value);
  };
}

function nonNegativeInt(what: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${what}: expected a whole number ≥ 0`);
    return Number(value);
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

/** Runs a command and exits with its status once stdout has been flushed. */
function exitWith(run: () => Promise<number>): Promise<void> {
  return run().then(
    (code) => finish(code),
    (error: unknown) => {
      process.stderr.write(`presence-b2b: ${error instanceof Error ? error.message : String(error)}\n`);
      finish(1);
    },
  );
}

function finish(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

const program = new Command();
program
  .name('presence-b2b')
  .description('SIP presence back-to-back user agent')
  .version(DAEMON_VERSION)
  .showHelpAfterError();

program
  .command('start')
  .description('run the daemon (B2BUA, local presence agent, HTTP API)')
  .option('-c, --config <file>', 'YAML configuration file (embedded defaults without one)')
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (overrides log_level)')
  .action((options: { config?: string; logLevel?: string }) => exitWith(() => runStart(options)));

program
  .command('watch')
  .description('subscribe to the presence of <record> as --as, print every status message')
  .argument('<record>', 'SIP URI whose presence to watch')
  .requiredOption('--as <subscriber>', 'SIP URI to subscribe as (From)')
  .option('--proxy <uri>', 'where to send the SUBSCRIBE', DEFAULT_PROXY)
  .option('--no-proxy', "resolve the record's domain instead (RFC 3263)")
  .option('--json', 'one JSON object per line')
  .option('--count <n>', 'exit 0 after n messages', positiveInt('--count'))
  .option('--timeout <s>', 'exit 1 if not done within s seconds', seconds)
  .option('--listen <spec>', 'local SIP socket transport:host:port', 'udp:127.0.0.1:0')
  .option('--user <name>', 'digest user name (default: user part of --as)')
  .option('--password <secret>', 'digest password, to answer 401/407')
  .action((record: string, options: { as: string; proxy: string | false; json?: boolean; count?: number; timeout?: number; listen?: string; user?: string; password?: string }) =>
    exitWith(() => runWatch(record, options)),
  );

program
  .command('publish')
  .description('send a PUBLISH (RFC 3903) with the presence of <record>')
  .argument('<record>', 'SIP URI of the presentity')
  .addArgument(new Argument('<basic>', 'open or closed').choices(['open', 'closed']))
  .option('--note <text>', 'a note in the tuple')
  .option('--proxy <uri>', 'where to send the PUBLISH', DEFAULT_PROXY)
  .option('--no-proxy', "resolve the record's domain instead (RFC 3263)")
  .option('--expires <n>', 'publication lifetime in seconds', nonNegativeInt('--expires'), 3600)
  .option('--as <uri>', 'From (default: the record itself)')
  .option('--etag <etag>', 'SIP-If-Match: modify an earlier publication')
  .option('--listen <spec>', 'local SIP socket transport:host:port', 'udp:127.0.0.1:0')
  .option('--user <name>', 'digest user name')
  .option('--password <secret>', 'digest password, to answer 401/407')
  .option('--timeout <s>', 'give up after s seconds', seconds, 10)
  .option('--json', 'print the result as JSON')
  .action(
    (
      record: string,
      basic: 'open' | 'closed',
      options: { note?: string; proxy: string | false; expires: number; as?: string; etag?: string; listen?: string; user?: string; password?: string; timeout: number; json?: boolean },
    ) => exitWith(() => runPublish(record, basic, options)),
  );

program
  .command('list')
  .description("list the daemon's subscriptions (HTTP API)")
  .option('--api <url>', 'base URL of the HTTP API', DEFAULT_API)
  .option('--token <token>', 'bearer token (default: $PRESENCE_B2B_HTTP__TOKEN)')
  .option('--json', 'one JSON object per line')
  .action((options: { api: string; token?: string; json?: boolean }) =>
    exitWith(() => runList({ ...options, ...tokenFromEnv(options.token) })),
  );

program
  .command('unsubscribe')
  .description('end one of the daemon\'s subscriptions (HTTP API)')
  .argument('<id>', 'subscription id')
  .option('--api <url>', 'base URL of the HTTP API', DEFAULT_API)
  .option('--token <token>', 'bearer token (default: $PRESENCE_B2B_HTTP__TOKEN)')
  .action((id: string, options: { api: string; token?: string }) => exitWith(() => runUnsubscribe(id, { ...options, ...tokenFromEnv(options.token) })));

function tokenFromEnv(token: string | undefined): { token?: string } {
  const t = token ?? process.env.PRESENCE_B2B_HTTP__TOKEN;
  return t === undefined ? {} : { token: t };
}

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`presence-b2b: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
