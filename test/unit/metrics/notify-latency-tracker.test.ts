/**
 * NotifyLatencyTracker: a status message queued while a NOTIFY of its record
 * is being handled (between the engine's and the broker's diagnostics-channel
 * events, before the next microtask checkpoint) is stamped with the NOTIFY's
 * time; taken() reports the seconds since. Nothing else is stamped.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { NotifyLatencyTracker } from '../../../src/metrics/notify-latency-tracker.js';
import { QSA_CHANNEL_NOTIFY, type StatusMessage } from '../../../src/qsa/index.js';
import { ENGINE_CHANNEL_NOTIFY } from '../../../src/subscription/engine-diagnostics.js';
import { ManualClock } from '../../../src/util/clock.js';

const engine = diagnosticsChannel.channel(ENGINE_CHANNEL_NOTIFY);
const queued = diagnosticsChannel.channel(QSA_CHANNEL_NOTIFY);

function messageOf(record: string): StatusMessage {
  return { record } as unknown as StatusMessage;
}

function notify(record: string, ...messages: StatusMessage[]): void {
  engine.publish({ dialog: 'd1', record, state: 'active' });
  for (const message of messages) queued.publish({ subscription: {}, message });
}

/** One microtask checkpoint, as after each datagram's handler. */
const checkpoint = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a message queued during the NOTIFY of its record is stamped; taken() reports the seconds since', async () => {
  const clock = new ManualClock(0, 0);
  const seen: number[] = [];
  const tracker = new NotifyLatencyTracker(clock, (s) => seen.push(s));
  try {
    const a = messageOf('sip:a@example.com');
    const b = messageOf('sip:a@example.com');
    const other = messageOf('sip:b@example.com');
    clock.advance(1000);
    notify('sip:a@example.com', a, b, other);
    await checkpoint();
    clock.advance(250);
    tracker.taken(a);
    tracker.taken(other);
    clock.advance(250);
    tracker.taken(b);
    tracker.taken(a); // once only
    assert.deepEqual(seen, [0.25, 0.5]);
  } finally {
    tracker.close();
  }
});

test('the window closes at the next microtask checkpoint: a later message of the same record is not stamped', async () => {
  const clock = new ManualClock(0, 0);
  const seen: number[] = [];
  const tracker = new NotifyLatencyTracker(clock, (s) => seen.push(s));
  try {
    notify('sip:a@example.com');
    await Promise.resolve();
    const late = messageOf('sip:a@example.com');
    queued.publish({ subscription: {}, message: late });
    tracker.taken(late);
    assert.deepEqual(seen, []);
  } finally {
    tracker.close();
  }
});

test('two NOTIFYs handled in one synchronous run: each message gets the time of the NOTIFY it was queued in; the window still closes', async () => {
  const clock = new ManualClock(0, 0);
  const seen: number[] = [];
  const tracker = new NotifyLatencyTracker(clock, (s) => seen.push(s));
  try {
    const first = messageOf('sip:a@example.com');
    const second = messageOf('sip:b@example.com');
    notify('sip:a@example.com', first);
    clock.advance(100);
    notify('sip:b@example.com', second);
    await checkpoint();
    const late = messageOf('sip:b@example.com');
    queued.publish({ subscription: {}, message: late });
    clock.advance(100);
    tracker.taken(first);
    tracker.taken(second);
    tracker.taken(late);
    assert.deepEqual(seen, [0.2, 0.1]);
    // And again after the close: the next NOTIFY opens a window of its own.
    const next = messageOf('sip:a@example.com');
    notify('sip:a@example.com', next);
    await checkpoint();
    clock.advance(50);
    tracker.taken(next);
    assert.deepEqual(seen, [0.2, 0.1, 0.05]);
  } finally {
    tracker.close();
  }
});
