/**
 * Store rows of realistic size for the store benchmarks (bench/workloads/store-cost.ts,
 * bench/cluster-store.ts), the same for SQLite and PostgreSQL so that their figures compare.
 */
import type { StoredApiSubscription } from '../../src/store/stored-api-subscription.js';
import { dialogIdentity, type StoredDialog } from '../../src/store/stored-dialog.js';

/** Realistic sizes: 16-character ids and tags, 32-character Call-IDs, one Record-Route. */
export function apiSubscription(i: number): StoredApiSubscription {
  return {
    id: `k${i.toString(36).padStart(15, '0')}`,
    record: `sip:user${i}@pres.example.com`,
    subscriber: `sip:watcher${i % 997}@example.com`,
    package: 'presence',
    queue: 'default',
    createdAt: 1_767_225_600_000 + i,
  };
}

export function snapshot(i: number, cseq: number, expiresAt: number): StoredDialog {
  const record = `sip:user${i}@pres.example.com`;
  const subscriber = `sip:watcher${i % 997}@example.com`;
  return {
    key: dialogIdentity('presence', record, subscriber),
    package: 'presence',
    record,
    subscriber,
    callId: `${i.toString(36).padStart(12, '0')}a8f3c2d1e0b9f7a6c5d4`,
    localTag: `t${i.toString(36).padStart(15, '0')}`,
    remoteTag: `r${i.toString(36).padStart(15, '0')}`,
    localUri: subscriber,
    remoteUri: record,
    localCSeq: cseq,
    remoteCSeq: cseq + 1,
    routeSet: ['<sip:192.0.2.10:5060;lr;r2=on;ftag=abc>'],
    remoteTarget: `sip:user${i}@192.0.2.10:5060;transport=udp`,
    contact: '<sip:b2b@192.0.2.5:5060>',
    expiresAt,
  };
}
