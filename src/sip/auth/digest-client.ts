import { createHash } from 'node:crypto';
import type { Random } from '../../util/random.js';
import type { Challenge } from '../codec/auth.js';

/** The challenge fields digest needs, as the codec parses them (codec/auth.ts). */
export type DigestChallenge = Omit<Challenge, 'params'>;

export interface DigestCredentials {
  username: string;
  password: string;
}

/** Per-dialog digest state, so that in-dialog requests reuse the nonce with a growing nonce count. */
export interface DigestSession {
  challenge: DigestChallenge;
  headerName: 'Authorization' | 'Proxy-Authorization';
  nonceCount: number;
}

const ALGORITHMS: Record<string, string> = { md5: 'md5', 'md5-sess': 'md5', 'sha-256': 'sha256', 'sha-256-sess': 'sha256' };

function hash(algorithm: string, text: string): string {
  return createHash(algorithm).update(text).digest('hex');
}

/** Whether we can answer this challenge (RFC 7616 §3.3: MD5 and SHA-256, with or without -sess). */
export function isSupportedChallenge(challenge: DigestChallenge): boolean {
  if (challenge.scheme.toLowerCase() !== 'digest' || challenge.nonce === undefined) return false;
  const qop = challenge.qop;
  if (qop !== undefined && qop.length > 0 && !qop.includes('auth')) return false;
  return ALGORITHMS[(challenge.algorithm ?? 'MD5').toLowerCase()] !== undefined;
}

/**
 * The Authorization header value for one request (RFC 2617 §3.2.2, RFC 7616 §3.4,
 * RFC 8760 for SHA-256 in SIP). qop=auth when offered, else the RFC 2069 form.
 */
export function digestAuthorization(
  session: DigestSession,
  credentials: DigestCredentials,
  method: string,
  uri: string,
  random: Random,
): string {
  const c = session.challenge;
  const algorithmName = c.algorithm ?? 'MD5';
  const algorithm = ALGORITHMS[algorithmName.toLowerCase()] ?? 'md5';
  const realm = c.realm ?? '';
  const nonce = c.nonce ?? '';
  const useQop = c.qop?.includes('auth') === true;
  session.nonceCount++;
  const nc = session.nonceCount.toString(16).padStart(8, '0');
  const cnonce = random.token(16);
  let ha1 = hash(algorithm, `${credentials.username}:${realm}:${credentials.password}`);
  if (algorithmName.toLowerCase().endsWith('-sess')) ha1 = hash(algorithm, `${ha1}:${nonce}:${cnonce}`);
  const ha2 = hash(algorithm, `${method}:${uri}`);
  const response = useQop ? hash(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) : hash(algorithm, `${ha1}:${nonce}:${ha2}`);
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  let value = `Digest username=${quote(credentials.username)}, realm=${quote(realm)}, nonce=${quote(nonce)}, uri=${quote(uri)}, response=${quote(response)}, algorithm=${algorithmName}`;
  if (c.opaque !== undefined) value += `, opaque=${quote(c.opaque)}`;
  if (useQop) value += `, qop=auth, nc=${nc}, cnonce=${quote(cnonce)}`;
  return value;
}
