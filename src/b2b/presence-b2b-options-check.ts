import { listenSpecProblems } from '../sip/transport/listen-spec-check.js';
import { parseSipUri } from '../sip/codec/uri.js';
import { BUILTIN_PACKAGE_NAMES } from '../subscription/builtin-packages.js';
import { engineSettingsProblems } from '../subscription/engine-options.js';
import { InvalidOptionError, type OptionProblem } from '../util/invalid-option-error.js';
import {
  booleanProblem,
  describeValue,
  functionProblem,
  headerTextProblem,
  hostProblem,
  ipAddressProblem,
  objectWithMethodsProblem,
  wholeNumberProblem,
} from '../util/option-checks.js';
import type { PresenceB2BOptions } from './create-presence-b2b.js';

/** RFC 3261 timers accepted, in milliseconds (T1 bounds Timer N = 64·T1 too). */
export const TIMER_LIMITS = {
  t1: { min: 1, max: 60_000 },
  t2: { min: 1, max: 600_000 },
  t4: { min: 1, max: 600_000 },
} as const;

/**
 * Every option createPresenceB2B knows. The mapped type makes the compiler
 * insist that an option added to PresenceB2BOptions is listed (and so
 * checked) here too; an unknown key (a misspelt `defaultExpiraton`) is refused
 * instead of being silently ignored.
 */
const KNOWN_OPTIONS: { readonly [K in keyof Required<PresenceB2BOptions>]: true } = {
  defaultExpiration: true,
  onErrorRetryTime: true,
  maxErrorRetryTime: true,
  finalRetryTime: true,
  presenceRoute: true,
  additionalPresenceHeaders: true,
  waitForTermNotify: true,
  resubscribeDelta: true,
  minResubscribeTime: true,
  handlePresenceSubscriptions: true,
  presenceOutboundProxy: true,
  maxSubscribeDelay: true,
  shareIdenticalSubscriptions: true,
  refreshJitter: true,
  maxSubscribeRate: true,
  maxRedirects: true,
  notifySourceCheck: true,
  contactUser: true,
  t1Ms: true,
  resumeGrace: true,
  listen: true,
  qsa: true,
  credentials: true,
  hosts: true,
  dns: true,
  timers: true,
  sipLimits: true,
  overload: true,
  tlsClient: true,
  userAgent: true,
  clock: true,
  random: true,
  scheduler: true,
  store: true,
  resumeFrom: true,
  onSnapshotError: true,
  writeDialogs: true,
  holds: true,
  onTransportDiagnostic: true,
  onUserAgentError: true,
  observer: true,
  packages: true,
  resourceListRecords: true,
  keptBodyCompactionMs: true,
};

/** Every problem of createPresenceB2B's options, each naming the option; empty when all can be used. */
export function presenceB2BOptionProblems(options: unknown): OptionProblem[] {
  if (options === undefined) return [];
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return [{ option: 'options', message: `expected an object of options, got ${describeValue(options)}` }];
  }
  const o = options as { readonly [K in keyof PresenceB2BOptions]?: unknown } & Record<string, unknown>;
  const problems: OptionProblem[] = [];
  for (const key of Object.keys(o)) {
    if (!Object.hasOwn(KNOWN_OPTIONS, key)) problems.push({ option: key, message: 'unknown option' });
  }
  problems.push(...engineSettingsProblems(o));
  const add = (option: string, message: string | undefined): void => {
    if (message !== undefined) problems.push({ option, message });
  };
  if (o.listen !== undefined) problems.push(...listenSpecProblems(o.listen));
  if (o.timers !== undefined) {
    if (typeof o.timers !== 'object' || o.timers === null) add('timers', `expected { t1?, t2?, t4? } in milliseconds, got ${describeValue(o.timers)}`);
    else {
      const timers = o.timers as Record<string, unknown>;
      for (const key of Object.keys(timers)) if (!Object.hasOwn(TIMER_LIMITS, key)) add(`timers.${key}`, 'unknown option');
      for (const [key, { min, max }] of Object.entries(TIMER_LIMITS)) {
        if (timers[key] !== undefined) add(`timers.${key}`, wholeNumberProblem(timers[key], min, max));
      }
    }
  }
  if (o.sipLimits !== undefined) problems.push(...sipLimitProblems(o.sipLimits));
  if (o.overload !== undefined) {
    if (typeof o.overload !== 'object' || o.overload === null) add('overload', `expected { backlogLimitBytes, retryAfterSeconds }, got ${describeValue(o.overload)}`);
    else {
      const overload = o.overload as Record<string, unknown>;
      for (const key of Object.keys(overload)) if (key !== 'backlogLimitBytes' && key !== 'retryAfterSeconds') add(`overload.${key}`, 'unknown option');
      if (overload.backlogLimitBytes !== 'auto') add('overload.backlogLimitBytes', wholeNumberProblem(overload.backlogLimitBytes, 0, 1 << 30));
      add('overload.retryAfterSeconds', wholeNumberProblem(overload.retryAfterSeconds, 1, 3600));
    }
  }
  if (o.tlsClient !== undefined) {
    if (typeof o.tlsClient !== 'object' || o.tlsClient === null) add('tlsClient', `expected { ca?, verify? }, got ${describeValue(o.tlsClient)}`);
    else {
      const tls = o.tlsClient as Record<string, unknown>;
      for (const key of Object.keys(tls)) if (key !== 'ca' && key !== 'verify') add(`tlsClient.${key}`, 'unknown option');
      if (tls.verify !== undefined) add('tlsClient.verify', booleanProblem(tls.verify));
      if (tls.ca !== undefined && typeof tls.ca !== 'string' && !Buffer.isBuffer(tls.ca)) add('tlsClient.ca', `expected PEM text or a Buffer, got ${describeValue(tls.ca)}`);
    }
  }
  if (o.credentials !== undefined) add('credentials', functionProblem(o.credentials, 'a function (subscriber, realm) => credentials'));
  if (o.hosts !== undefined) problems.push(...hostTableProblems(o.hosts));
  if (o.dns !== undefined) add('dns', objectWithMethodsProblem(o.dns, 'a DnsClient', ['resolveNaptr', 'resolveSrv', 'resolve4', 'resolve6']));
  if (o.qsa !== undefined) add('qsa', objectWithMethodsProblem(o.qsa, 'a QsaBroker', ['registerNotifier', 'unregisterNotifier', 'subscribe', 'unsubscribe']));
  if (o.userAgent !== undefined) add('userAgent', headerTextProblem(o.userAgent));
  if (o.keptBodyCompactionMs !== undefined) add('keptBodyCompactionMs', wholeNumberProblem(o.keptBodyCompactionMs, 0, 86_400_000));
  if (o.clock !== undefined) add('clock', objectWithMethodsProblem(o.clock, 'a Clock', ['now', 'wallTime', 'setTimer']));
  if (o.random !== undefined) add('random', objectWithMethodsProblem(o.random, 'a Random', ['next', 'token']));
  if (o.scheduler !== undefined) add('scheduler', objectWithMethodsProblem(o.scheduler, 'a TimerScheduler', ['after', 'close']));
  if (o.store !== undefined) {
    add('store', objectWithMethodsProblem(o.store, 'a SubscriptionStore', ['load', 'createApiSubscription', 'deleteApiSubscription', 'createQueue', 'deleteQueue', 'raiseQueueHighWater', 'writeDialogs', 'close']));
  }
  if (o.resumeFrom !== undefined) {
    if (o.store === undefined) add('resumeFrom', 'only meaningful with a store (the snapshots it was read from)');
    else if (!Array.isArray(o.resumeFrom)) add('resumeFrom', `expected the dialogs of SubscriptionStore.load(), got ${describeValue(o.resumeFrom)}`);
  }
  if (o.onSnapshotError !== undefined) add('onSnapshotError', functionProblem(o.onSnapshotError));
  if (o.writeDialogs !== undefined) {
    if (o.store === undefined) add('writeDialogs', 'only meaningful with a store (the snapshots are written into it)');
    else add('writeDialogs', functionProblem(o.writeDialogs));
  }
  if (o.holds !== undefined) add('holds', functionProblem(o.holds));
  if (o.onTransportDiagnostic !== undefined) add('onTransportDiagnostic', functionProblem(o.onTransportDiagnostic));
  if (o.onUserAgentError !== undefined) add('onUserAgentError', functionProblem(o.onUserAgentError));
  if (o.observer !== undefined) add('observer', objectWithMethodsProblem(o.observer, 'a SipMessageObserver', ['observe']));
  if (o.packages !== undefined) problems.push(...packagesProblems(o.packages));
  if (o.resourceListRecords !== undefined) problems.push(...listRecordsProblems(o.resourceListRecords));
  return problems;
}

/** Throws InvalidOptionError (B2B_ERR_INVALID_OPTION) listing every problem of the options. */
export function checkPresenceB2BOptions(options: unknown): void {
  const problems = presenceB2BOptionProblems(options);
  if (problems.length > 0) throw new InvalidOptionError(problems, 'createPresenceB2B');
}

/** Ranges of the transport limits (seconds-scale values in milliseconds). */
export const SIP_LIMIT_RANGES = {
  maxConnections: { min: 1, max: 1_000_000 },
  idleTimeoutMs: { min: 1000, max: 86_400_000 },
  messageTimeoutMs: { min: 0, max: 3_600_000 },
  maxMessageBytes: { min: 1024, max: 16 * 1024 * 1024 },
  /** SO_RCVBUF to ask for; 0 leaves the kernel's default (net.core.rmem_default). */
  udpReceiveBufferBytes: { min: 0, max: 1 << 30 },
} as const;

function sipLimitProblems(limits: unknown): OptionProblem[] {
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    return [{ option: 'sipLimits', message: `expected { maxConnections?, idleTimeoutMs?, messageTimeoutMs?, maxMessageBytes?, udpReceiveBufferBytes? }, got ${describeValue(limits)}` }];
  }
  const l = limits as Record<string, unknown>;
  const problems: OptionProblem[] = [];
  const add = (option: string, message: string | undefined): void => {
    if (message !== undefined) problems.push({ option: `sipLimits.${option}`, message });
  };
  for (const key of Object.keys(l)) if (!Object.hasOwn(SIP_LIMIT_RANGES, key)) add(key, 'unknown option');
  for (const key of ['maxConnections', 'idleTimeoutMs', 'messageTimeoutMs', 'udpReceiveBufferBytes'] as const) {
    if (l[key] !== undefined) add(key, wholeNumberProblem(l[key], SIP_LIMIT_RANGES[key].min, SIP_LIMIT_RANGES[key].max));
  }
  const sizes = l.maxMessageBytes;
  if (sizes !== undefined) {
    if (typeof sizes !== 'object' || sizes === null) add('maxMessageBytes', `expected { udp?, tcp?, tls? } in octets, got ${describeValue(sizes)}`);
    else {
      const { min, max } = SIP_LIMIT_RANGES.maxMessageBytes;
      for (const [transport, size] of Object.entries(sizes)) {
        if (transport !== 'udp' && transport !== 'tcp' && transport !== 'tls') add(`maxMessageBytes.${transport}`, 'unknown option');
        else add(`maxMessageBytes.${transport}`, wholeNumberProblem(size, min, transport === 'udp' ? 65_535 : max));
      }
    }
  }
  return problems;
}

function packagesProblems(packages: unknown): OptionProblem[] {
  const known = BUILTIN_PACKAGE_NAMES.join(', ');
  if (!Array.isArray(packages)) return [{ option: 'packages', message: `expected a list of event packages among ${known}, got ${describeValue(packages)}` }];
  const problems: OptionProblem[] = [];
  packages.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !BUILTIN_PACKAGE_NAMES.includes(name)) {
      problems.push({ option: `packages[${i}]`, message: `expected one of ${known}, got ${describeValue(name)}` });
    }
  });
  return problems;
}

function listRecordsProblems(records: unknown): OptionProblem[] {
  if (!Array.isArray(records)) return [{ option: 'resourceListRecords', message: `expected a list of SIP URIs, got ${describeValue(records)}` }];
  const problems: OptionProblem[] = [];
  records.forEach((record: unknown, i) => {
    if (!isSipUriText(record)) problems.push({ option: `resourceListRecords[${i}]`, message: `expected a SIP URI such as sip:friends@example.com, got ${describeValue(record)}` });
  });
  return problems;
}

function isSipUriText(value: unknown): boolean {
  if (typeof value !== 'string' || !/^sips?:/i.test(value)) return false;
  try {
    parseSipUri(value);
    return true;
  } catch {
    return false;
  }
}

function hostTableProblems(hosts: unknown): OptionProblem[] {
  if (typeof hosts !== 'object' || hosts === null || Array.isArray(hosts)) {
    return [{ option: 'hosts', message: `expected { name: [addresses] }, got ${describeValue(hosts)}` }];
  }
  const problems: OptionProblem[] = [];
  for (const [name, addresses] of Object.entries(hosts)) {
    const option = `hosts[${JSON.stringify(name)}]`;
    const nameProblem = hostProblem(name);
    if (nameProblem !== undefined) problems.push({ option, message: nameProblem });
    if (!Array.isArray(addresses) || addresses.length === 0) {
      problems.push({ option, message: `expected a non-empty list of IP addresses, got ${describeValue(addresses)}` });
      continue;
    }
    addresses.forEach((address: unknown, i) => {
      const problem = ipAddressProblem(address);
      if (problem !== undefined) problems.push({ option: `${option}[${i}]`, message: problem });
    });
  }
  return problems;
}
