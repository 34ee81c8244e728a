import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_HTTP_PORT, DEFAULT_SIP_PORT } from '../config/config-schema.js';
import { DAEMON_VERSION } from '../daemon/daemon.js';
import type { ListenSpec } from '../sip/transport/types.js';
import { runList, runUnsubscribe } from './api-commands.js';
import { defaultPublicationStatePath } from './publication-state.js';
import { runDoctor } from './doctor-command.js';
import { packageArgument } from './package-argument.js';
import { type PublishCommandOptions, runPublish } from './publish-command.js';
import { listenArgument, proxyArgument, sipUriArgument } from './sip-uri-argument.js';
import { runStart } from './start-command.js';
import { TOKEN_VARIABLE, tokenFrom } from './token-option.js';
import { runWatch } from './watch-command.js';

const DEFAULT_PROXY = `sip:127.0.0.1:${DEFAULT_SIP_PORT}`;
const DEFAULT_API = `http://127.0.0.1:${DEFAULT_HTTP_PORT}`;
const DEFAULT_LISTEN = 'udp:127.0.0.1:0';

/** Exit status of a usage error (a bad argument or option), as for a configuration error. */
export const EXIT_USAGE = 2;

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got ${JSON.stringify(value)}`);
  return Number(value);
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return Number(value);
}

function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got ${JSON.stringify(value)}`);
  return n;
}

/** `--listen`, parsed to a ListenSpec; its default shown as written. */
function listenOption(): Option {
  return new Option('--listen <spec>', 'local SIP socket transport:host:port (a socket for another transport the target needs is added)')
    .argParser(listenArgument)
    .default(listenArgument(DEFAULT_LISTEN), DEFAULT_LISTEN);
}

/** A required option, marked so in --help (commander does not say it). */
function required(flags: string, description: string, parse?: (value: string) => string): Option {
  const option = new Option(flags, `${description} (required)`).makeOptionMandatory();
  return parse === undefined ? option : option.argParser(parse);
}

export interface CliRunners {
  /** Runs a command; resolves with its exit status. */
  run(command: () => Promise<number>): Promise<void>;
  env: NodeJS.ProcessEnv;
}

/**
 * The `presence-b2b` command line. Arguments and options are checked before
 * anything is sent (a SIP URI where one is expected, with the HTTP API's
 * words); a usage error prints the problem and the command's help, and
 * exits 2.
 */
export function buildProgram(runners: CliRunners): Command {
  const program = new Command();
  program.name('presence-b2b').description('SIP presence back-to-back user agent').version(DAEMON_VERSION).showHelpAfterError();

  program
    .command('start')
    .description('run the daemon (B2BUA, local presence agent, HTTP API)')
    .option('-c, --config <file>', 'YAML configuration file (embedded defaults without one)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (overrides log_level)')
    .action((options: { config?: string; logLevel?: string }) => runners.run(() => runStart(options)));

  program
    .command('doctor')
    .description('check what start needs: the config, free ports, the outbound proxy (resolves, answers OPTIONS), the store, the HEP collector')
    .option('-c, --config <file>', 'YAML configuration file (embedded defaults without one)')
    .option('--timeout <s>', 'seconds to wait for the outbound proxy to answer OPTIONS', seconds, 5)
    .action((options: { config?: string; timeout: number }) => runners.run(() => runDoctor(options)));

  program
    .command('watch')
    .description('subscribe to the presence (or registrations, or dialogs) of <record> as --as, print every status message')
    .addArgument(new Argument('<record>', 'SIP URI whose presence to watch (user@host means sip:user@host)').argParser(sipUriArgument))
    .addOption(required('--as <subscriber>', 'SIP URI to subscribe as (From)', sipUriArgument))
    .option('--package <name>', 'event package: presence, reg (RFC 3680) or dialog (RFC 4235)', packageArgument, 'presence')
    .option('--list', '<record> is a resource list (RFC 4662): one message per member')
    .option('--proxy <uri>', 'where to send the SUBSCRIBE: SIP URI or host:port (;transport=tcp for TCP)', proxyArgument, DEFAULT_PROXY)
    .option('--no-proxy', "resolve the record's domain instead (RFC 3263)")
    .option('--json', 'one JSON object per line')
    .option('--count <n>', 'exit 0 after n messages', positiveInt)
    .option('--timeout <s>', 'exit 1 if not done within s seconds', seconds)
    .addOption(listenOption())
    .option('--user <name>', 'digest user name (default: user part of --as)')
    .option('--password <secret>', 'digest password, to answer 401/407')
    .action(
      (
        record: string,
        options: { as: string; package: string; list?: boolean; proxy: string | false; json?: boolean; count?: number; timeout?: number; listen: ListenSpec; user?: string; password?: string },
      ) => runners.run(() => runWatch(record, options)),
    );

  program
    .command('publish')
    .description('send a PUBLISH (RFC 3903) with the presence of <record>')
    .addArgument(new Argument('<record>', 'SIP URI of the presentity (user@host means sip:user@host)').argParser(sipUriArgument))
    .addArgument(new Argument('<basic>', 'open or closed').choices(['open', 'closed']))
    .option('--note <text>', 'a note in the tuple')
    .option('--proxy <uri>', 'where to send the PUBLISH: SIP URI or host:port (;transport=tcp for TCP)', proxyArgument, DEFAULT_PROXY)
    .option('--no-proxy', "resolve the record's domain instead (RFC 3263)")
    .option('--expires <n>', 'publication lifetime in seconds', nonNegativeInt, 3600)
    .option('--as <uri>', 'From (default: the record itself)', sipUriArgument)
    .option('--etag <etag>', 'SIP-If-Match: modify an earlier publication')
    .addOption(listenOption())
    .option('--user <name>', 'digest user name')
    .option('--password <secret>', 'digest password, to answer 401/407')
    .option('--timeout <s>', 'give up after s seconds', seconds, 10)
    .option('--json', 'print the result as JSON')
    .option('--state-file <file>', 'where the entity-tags of earlier publications are kept (default: $XDG_STATE_HOME/presence-b2b/publications.json)')
    .option('--no-state', 'do not replace the previous publication: neither read nor keep entity-tags')
    .action(
      (
        record: string,
        basic: 'open' | 'closed',
        options: PublishCommandOptions,
      ) => runners.run(() => runPublish(record, basic, { ...options, stateFile: options.stateFile ?? defaultPublicationStatePath(runners.env) })),
    );

  program
    .command('list')
    .description("list the daemon's subscriptions (HTTP API)")
    .option('--api <url>', 'base URL of the HTTP API', DEFAULT_API)
    .option('--token <token>', `bearer token, the daemon's http.token (default: $${TOKEN_VARIABLE})`)
    .option('--json', 'one JSON object per line')
    .action((options: { api: string; token?: string; json?: boolean }) => runners.run(() => runList({ ...options, ...tokenFrom(options.token, runners.env) })));

  program
    .command('unsubscribe')
    .description("end one of the daemon's subscriptions (HTTP API)")
    .argument('<id>', 'subscription id (see list)')
    .option('--api <url>', 'base URL of the HTTP API', DEFAULT_API)
    .option('--token <token>', `bearer token, the daemon's http.token (default: $${TOKEN_VARIABLE})`)
    .action((id: string, options: { api: string; token?: string }) => runners.run(() => runUnsubscribe(id, { ...options, ...tokenFrom(options.token, runners.env) })));

  // Usage errors exit 2 (commander would exit 1, the status of a failed watch or publish).
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  return program;
}
