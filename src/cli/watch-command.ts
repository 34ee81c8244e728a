import { presenceSummary, statusView } from '../daemon/status-view.js';
import { dialogInfoOf } from '../dialoginfo/index.js';
import type { StatusMessage } from '../qsa/index.js';
import { regInfoOf } from '../reginfo/index.js';
import type { ListenSpec } from '../sip/transport/types.js';
import { systemClock } from '../util/clock.js';
import { cliCredentials, startEmbeddedStack } from './embedded-stack.js';
import { listenSpecsFor } from './sip-uri-argument.js';
import { failureHint, noAnswerHint, targetOf, WatchProgress } from './watch-progress.js';

export interface WatchCommandOptions {
  /** The subscriber, a SIP URI checked by sipUriArgument. */
  as: string;
  /** Event package: presence (default), reg or dialog; refused (exit 2) unless the embedded B2BUA serves it. */
  package?: string;
  /** Subscribe to the record as a resource list (RFC 4662, `Supported: eventlist`). */
  list?: boolean;
  /** A SIP URI checked by proxyArgument; false: --no-proxy, resolve the record's domain (RFC 3263). */
  proxy: string | false;
  json?: boolean;
  count?: number;
  /** Seconds for the whole watch. */
  timeout?: number;
  listen: ListenSpec;
  user?: string;
  password?: string;
}

/** Whether a status message means the subscription failed (for the exit status). */
export function isFailure(message: Pick<StatusMessage, 'state' | 'error' | 'list'>): boolean {
  // A resource list member that is rejected or ends is news about the member, not the end of the watch.
  if (message.list !== undefined) return false;
  if (message.state === 'rejected') return true;
  // The engine reports failed attempts as terminated with a B2B_ERR_* code (it would retry later).
  return message.state === 'terminated' && message.error !== undefined && message.error.code.startsWith('B2B_ERR_');
}

/**
 * One readable line: time, record, subscription state, then what the package
 * says: presence the basic status and note; reg each registration's aor and
 * state with its contacts' states (and the contacts that left); dialog each
 * dialog's state, direction and remote party (and those that ended). A
 * resource list member's line ends with the list it belongs to.
 */
export function formatStatusLine(message: StatusMessage): string {
  let line = `${new Date(message.timestamp).toISOString()} ${message.record} ${message.state}`;
  const reg = regInfoOf(message);
  const dialog = dialogInfoOf(message);
  if (reg !== undefined) {
    for (const r of reg.registrations) {
      line += ` | ${r.aor} ${r.state}`;
      for (const c of r.contacts) line += ` ${c.uri} ${c.state}/${c.event ?? '-'}${c.expires !== undefined ? ` ${c.expires}s` : ''}${c.q !== undefined ? ` q=${c.q}` : ''}`;
    }
    for (const { contact } of reg.changes.contacts.removed) line += ` | gone ${contact.uri} ${contact.state}/${contact.event ?? '-'}`;
    if (reg.registrations.length === 0) line += ' | no registration';
  } else if (dialog !== undefined) {
    for (const d of dialog.dialogs) line += ` | ${d.id} ${d.state} ${d.direction ?? '-'} ${d.remote?.identity?.uri ?? '-'}`;
    for (const d of dialog.changes.removed) line += ` | ${d.id} ${d.state}${d.event !== undefined ? `/${d.event}` : ''}`;
    if (dialog.dialogs.length === 0 && dialog.changes.removed.length === 0) line += ' | no dialog';
  } else {
    const { basic, note } = presenceSummary(message);
    if (basic !== undefined) line += ` ${basic}`;
    if (note !== undefined) line += ` ${JSON.stringify(note)}`;
  }
  if (message.list !== undefined) line += ` list=${message.list}`;
  if (message.reason !== undefined) line += ` reason=${message.reason}`;
  if (message.error !== undefined) line += ` error=${message.error.code} (${message.error.message})`;
  return line;
}

/**
 * `presence-b2b watch <record> --as <subscriber>`: an embedded B2BUA
 * subscribes and prints every status message. Resolves with the exit status:
 * 0 after `count` messages (or on SIGINT/SIGTERM), 1 on timeout or failure.
 */
export async function runWatch(record: string, options: WatchCommandOptions): Promise<number> {
  const proxy = options.proxy === false ? undefined : options.proxy;
  const credentials = cliCredentials(options.user, options.password);
  const pkg = options.package ?? 'presence';
  const stack = await startEmbeddedStack({
    listen: listenSpecsFor(options.listen, proxy),
    ...(proxy !== undefined ? { proxy } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
    ...(options.list === true ? { resourceListRecords: [record] } : {}),
    subscriptions: true,
  });
  const served = stack.qsa.servedPackages();
  if (!served.includes(pkg)) {
    await stack.close(0);
    process.stderr.write(`watch: package ${JSON.stringify(pkg)} is not served; served packages: ${served.join(', ')}\n`);
    return 2;
  }
  const target = targetOf(record, proxy);
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const progress = new WatchProgress(systemClock, say, target);
  const queue = stack.qsa.createQueue();
  const abort = new AbortController();
  let why: 'timeout' | 'signal' | undefined;
  const cancelDeadline =
    options.timeout !== undefined
      ? systemClock.setTimer(() => {
          why = 'timeout';
          abort.abort();
        }, options.timeout * 1000)
      : undefined;
  const onSignal = (): void => {
    why = 'signal';
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let seen = 0;
  try {
    stack.qsa.subscribe({ package: pkg, record, subscriber: options.as, queue });
    progress.start(record, options.as);
    for (;;) {
      const message = await queue.take(abort.signal);
      if (message === undefined) break;
      progress.answered();
      seen++;
      process.stdout.write(`${options.json === true ? JSON.stringify(statusView(message)) : formatStatusLine(message)}\n`);
      if (isFailure(message)) {
        say(`watch: subscription ${message.state}${message.reason !== undefined ? ` (${message.reason})` : ''}`);
        const hint = failureHint(message, target, proxy !== undefined, pkg);
        if (hint !== undefined) say(`watch: ${hint}`);
        return 1;
      }
      if (options.count !== undefined && seen >= options.count) return 0;
    }
    if (why === 'timeout') {
      say(`watch: timed out after ${options.timeout} s with ${seen} message(s)${options.count !== undefined ? ` of ${options.count}` : ''}`);
      if (seen === 0) say(`watch: ${noAnswerHint(target, proxy !== undefined, pkg)}`);
      return 1;
    }
    return 0;
  } finally {
    progress.answered();
    cancelDeadline?.();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Unsubscribe (Expires: 0) before leaving, bounded.
    await stack.close(2000);
  }
}
