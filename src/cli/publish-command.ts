import { digestAuthorization, isSupportedChallenge } from '../sip/auth/digest-client.js';
import { challengesOf } from '../sip/codec/auth.js';
import { minExpiresOf } from '../sip/codec/expires.js';
import type { SipResponse } from '../sip/codec/message.js';
import { systemClock } from '../util/clock.js';
import { CryptoRandom } from '../util/random.js';
import type { ListenSpec } from '../sip/transport/types.js';
import { startEmbeddedStack } from './embedded-stack.js';
import { defaultPublicationStatePath, PublicationStateFile, publicationKey } from './publication-state.js';
import { buildPublishRequest } from './publish-request.js';
import { listenSpecsFor } from './sip-uri-argument.js';
import { noAnswerHint, targetOf } from './watch-progress.js';

export interface PublishCommandOptions {
  note?: string;
  /** A SIP URI checked by proxyArgument; false: --no-proxy, resolve the record's domain (RFC 3263). */
  proxy: string | false;
  expires: number;
  /** From, a SIP URI checked by sipUriArgument. */
  as?: string;
  etag?: string;
  listen: ListenSpec;
  user?: string;
  password?: string;
  timeout: number;
  json?: boolean;
  /** false (--no-state): neither read nor write the entity-tags of earlier runs. */
  state?: boolean;
  /** Where the entity-tags are kept (default: defaultPublicationStatePath()). */
  stateFile?: string;
}

/**
 * `presence-b2b publish <record> <open|closed>`: one PUBLISH (RFC 3903) with
 * a PIDF body; answers a digest challenge once (--password) and a 423 once
 * (Min-Expires). Resolves with the exit status: 0 on 2xx, 1 otherwise.
 *
 * Publishing again replaces: the entity-tag of each publication is kept in a
 * state file (publication-state.ts) under the record, the publisher and the
 * target, and the next run for the same three sends it in SIP-If-Match, which
 * modifies that publication (RFC 3903 §4.4) instead of adding a second one
 * beside it. When the server no longer knows the tag (412, RFC 3903 §6 step 3:
 * it expired, or the server restarted), the run publishes anew once. An
 * explicit --etag wins over the state file; --no-state ignores it.
 */
export async function runPublish(record: string, basic: 'open' | 'closed', options: PublishCommandOptions): Promise<number> {
  const random = new CryptoRandom();
  const proxy = options.proxy === false ? undefined : options.proxy;
  const key = publicationKey(record, options.as ?? record, proxy);
  const state = options.state === false ? undefined : PublicationStateFile.read(options.stateFile ?? defaultPublicationStatePath());
  const remembered = options.etag === undefined ? state?.etagOf(key, systemClock.wallTime()) : undefined;
  let etag = options.etag ?? remembered;
  let triedFresh = false;
  const stack = await startEmbeddedStack({ listen: listenSpecsFor(options.listen, proxy), subscriptions: false });
  const callId = `${random.token(20)}@presence-b2b-cli`;
  const fromTag = random.token(12);
  let cseq = 1;
  let expires = options.expires;
  let authorization: { name: string; value: string } | undefined;
  let triedAuth = false;
  let triedInterval = false;

  const attempt = (): Promise<SipResponse> =>
    new Promise((resolve) => {
      const request = buildPublishRequest({
        record,
        ...(options.as !== undefined ? { from: options.as } : {}),
        basic,
        ...(options.note !== undefined ? { note: options.note } : {}),
        expires,
        callId,
        fromTag,
        cseq: cseq++,
        ...(etag !== undefined ? { etag } : {}),
        timestamp: new Date(systemClock.wallTime()),
      });
      if (authorization !== undefined) request.headers.append(authorization.name, authorization.value);
      stack.ua.sendRequest(request, { onFinal: (response) => resolve(response) }, proxy !== undefined ? { outboundProxy: proxy } : undefined);
    });

  let cancelDeadline: (() => void) | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    cancelDeadline = systemClock.setTimer(() => resolve('timeout'), options.timeout * 1000);
  });
  try {
    for (;;) {
      const response = await Promise.race([attempt(), deadline]);
      if (response === 'timeout') {
        report(options, { ok: false, error: `no final response within ${options.timeout} s: ${noAnswerHint(targetOf(record, proxy), proxy !== undefined)}` });
        return 1;
      }
      const status = response.status;
      if ((status === 401 || status === 407) && !triedAuth && options.password !== undefined) {
        triedAuth = true;
        const challenge = challengesOf(response, status === 407 ? 'proxy-authenticate' : 'www-authenticate').find(isSupportedChallenge);
        if (challenge !== undefined) {
          const name = status === 407 ? 'Proxy-Authorization' : 'Authorization';
          const username = options.user ?? /^sips?:([^@]+)@/i.exec(options.as ?? record)?.[1] ?? '';
          const value = digestAuthorization({ challenge, headerName: name, nonceCount: 0 }, { username, password: options.password }, 'PUBLISH', record, random);
          authorization = { name, value };
          continue;
        }
      }
      if (status === 423 && !triedInterval) {
        // RFC 3903 §6 step 4 / RFC 3261 §21.4.17: retry with the Min-Expires asked for.
        triedInterval = true;
        const min = minExpiresOf(response);
        if (min !== undefined && min > expires) {
          expires = min;
          continue;
        }
      }
      if (status === 412 && remembered !== undefined && etag === remembered && !triedFresh) {
        // The remembered publication is gone at the server: this run's is a new one.
        triedFresh = true;
        etag = undefined;
        continue;
      }
      const newEtag = response.headers.get('sip-etag');
      const granted = response.headers.get('expires');
      if (status >= 200 && status < 300) {
        const replaced = etag;
        report(options, {
          ok: true,
          status,
          reason: response.reason,
          ...(newEtag !== undefined ? { etag: newEtag } : {}),
          ...(granted !== undefined ? { expires: Number(granted) } : {}),
          ...(replaced !== undefined ? { replaced } : {}),
        });
        if (state !== undefined) rememberPublication(state, key, newEtag, granted === undefined ? expires : Number(granted));
        return 0;
      }
      report(options, { ok: false, status, reason: response.reason });
      return 1;
    }
  } finally {
    cancelDeadline?.();
    await stack.close(0);
  }
}

/** Keeps the new entity-tag for the next run (a removal, Expires 0, forgets it); a file that cannot be written is said, not fatal. */
function rememberPublication(state: PublicationStateFile, key: string, etag: string | undefined, expires: number): void {
  const now = systemClock.wallTime();
  if (etag === undefined || !Number.isFinite(expires) || expires <= 0) state.forget(key);
  else state.remember(key, etag, now + expires * 1000);
  try {
    state.save(now);
  } catch (error) {
    process.stderr.write(`publish: cannot keep the entity-tag in ${state.path}: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function report(
  options: PublishCommandOptions,
  result: { ok: boolean; status?: number; reason?: string; etag?: string; expires?: number; replaced?: string; error?: string },
): void {
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (result.ok) {
    process.stdout.write(
      `published: ${result.status} ${result.reason}${result.etag !== undefined ? ` etag=${result.etag}` : ''}${result.expires !== undefined ? ` expires=${result.expires}` : ''}${result.replaced !== undefined ? ` replaced=${result.replaced}` : ''}\n`,
    );
  } else if (result.error !== undefined) {
    process.stderr.write(`publish failed: ${result.error}\n`);
  } else {
    process.stderr.write(`publish failed: ${result.status} ${result.reason}\n`);
  }
}
