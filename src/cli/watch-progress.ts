import type { StatusMessage } from '../qsa/index.js';
import type { Clock } from '../util/clock.js';
import { transportOf } from './sip-uri-argument.js';

/** Where `watch` sends its SUBSCRIBE, in words: the proxy and its transport, or the record's domain. */
export function targetOf(record: string, proxy: string | undefined): string {
  if (proxy !== undefined) return `${proxy} (${transportOf(proxy)})`;
  const host = /^sips?:(?:[^@]*@)?([^;:?>]+)/i.exec(record)?.[1] ?? record;
  return `${host} (the record's domain, RFC 3263)`;
}

/** The kind of server that answers SUBSCRIBEs of `pkg`, in words. */
function serverOf(pkg: string): string {
  switch (pkg) {
    case 'presence':
      return 'a presence server';
    case 'reg':
      return 'a registrar with reg events (RFC 3680)';
    case 'dialog':
      return 'a server with dialog events (RFC 4235)';
    default:
      return `a server of ${pkg} events`;
  }
}

/**
 * What to do when nothing answered at `target`: the daemon's own server (it
 * answers presence only, through its local agent), or another one.
 */
export function noAnswerHint(target: string, usedProxy: boolean, pkg = 'presence'): string {
  const server = serverOf(pkg);
  const daemon = pkg === 'presence' ? ' The daemon answers on sip:127.0.0.1:5060 once started (presence-b2b start);' : '';
  const where = usedProxy
    ? `is ${server} listening there?${daemon} --proxy names another server, --no-proxy resolves the record's domain`
    : `does the domain resolve to ${server} (NAPTR, SRV, A)? --proxy names a server to send to`;
  return `no answer from ${target}: ${where}`;
}

/** The hint for a status message that ends a watch, when it is one of ours to explain; undefined otherwise. */
export function failureHint(message: Pick<StatusMessage, 'error'>, target: string, usedProxy: boolean, pkg = 'presence'): string | undefined {
  switch (message.error?.code) {
    case 'B2B_ERR_SUBSCRIBE_TIMEOUT':
      return noAnswerHint(target, usedProxy, pkg);
    case 'B2B_ERR_TRANSPORT':
      return `could not reach ${target}: ${message.error.message}`;
    case 'B2B_ERR_AUTH_FAILED':
      return `${target} asks for credentials: give --password (and --user when it is not the user part of --as)`;
    default:
      return undefined;
  }
}

/**
 * Progress lines on stderr while `watch` waits for its first status: what
 * it tries at once, then "no answer yet" after 2 s and every 10 s after that
 * (an unanswered UDP SUBSCRIBE is retransmitted for 32 s before the 408).
 */
export class WatchProgress {
  private cancel: (() => void) | undefined;
  private readonly started: number;

  constructor(
    private readonly clock: Clock,
    private readonly write: (line: string) => void,
    private readonly target: string,
  ) {
    this.started = clock.now();
  }

  start(record: string, subscriber: string): void {
    this.write(`watch: trying ${this.target} for ${record} as ${subscriber}`);
    this.arm(2000);
  }

  /** A status message came: no more progress lines. */
  answered(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private arm(delayMs: number): void {
    this.cancel = this.clock.setTimer(() => {
      const seconds = Math.round((this.clock.now() - this.started) / 1000);
      this.write(`watch: no answer yet from ${this.target} after ${seconds} s`);
      this.arm(10_000);
    }, delayMs);
  }
}
