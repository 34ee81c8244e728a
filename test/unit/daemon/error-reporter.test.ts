import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DaemonErrorReporter } from '../../../src/daemon/error-reporter.js';
import { QueueHub } from '../../../src/daemon/queue-hub.js';
import { createLogger } from '../../../src/log/logger.js';
import { QsaBroker, type QsaSubscription } from '../../../src/qsa/index.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { ManualClock } from '../../../src/util/clock.js';

function capture(): { lines: Array<Record<string, unknown>>; reporter: DaemonErrorReporter } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', stream: { write: (chunk: string) => lines.push(JSON.parse(chunk) as Record<string, unknown>) } });
  return { lines, reporter: new DaemonErrorReporter(logger) };
}

test('transport diagnostics: counted per kind, logged at a level by kind; a handler error is also an internal error', () => {
  const { lines, reporter } = capture();
  reporter.transportDiagnostic({ kind: 'handler-error', transport: 'udp', remoteAddress: '192.0.2.1', remotePort: 5060, detail: 'message handler threw: x', error: new Error('x') });
  reporter.transportDiagnostic({ kind: 'socket-error', transport: 'tcp', detail: 'TCP listener: EMFILE' });
  reporter.transportDiagnostic({ kind: 'connection-opened', transport: 'tcp', remoteAddress: '192.0.2.1', remotePort: 40000, connectionId: 7, detail: 'inbound' });
  assert.equal(reporter.transportDiagnostics.handler_error, 1);
  assert.equal(reporter.transportDiagnostics.socket_error, 1);
  assert.equal(reporter.transportDiagnostics.connection_opened, 1);
  assert.equal(reporter.transportDiagnostics.malformed_dropped, 0);
  assert.equal(reporter.internalErrors.transport, 1);
  assert.deepEqual(
    lines.map((l) => [l.level, l.kind, l.remote, l.connection]),
    [
      ['error', 'handler_error', '192.0.2.1:5060', undefined],
      ['warn', 'socket_error', undefined, undefined],
      ['debug', 'connection_opened', '192.0.2.1:40000', 7],
    ],
  );
});

test('response callbacks and timers: counted and logged at error level', () => {
  const { lines, reporter } = capture();
  reporter.userAgentError(new Error('onFinal bug'), 'callback');
  reporter.timerError(new Error('timer bug'));
  assert.equal(reporter.internalErrors.response_callback, 1);
  assert.equal(reporter.internalErrors.timer, 1);
  assert.deepEqual(
    lines.map((l) => [l.level, l.component, (l.err as { message: string }).message]),
    [
      ['error', 'response_callback', 'onFinal bug'],
      ['error', 'timer', 'timer bug'],
    ],
  );
});

test('a queue consumer that throws on one message is reported and goes on with the next', async () => {
  const { lines, reporter } = capture();
  const broker = new QsaBroker({ clock: new ManualClock() });
  const taken: number[] = [];
  const store = new MemorySubscriptionStore();
  const hub = new QueueHub({
    broker,
    store,
    ringSize: 10,
    onMessage: (message) => {
      taken.push(message.sequence);
      if (taken.length === 1) throw new Error('consumer bug');
    },
    onError: reporter.queueConsumerError,
  });
  const served = await hub.ensure('q');
  let held: QsaSubscription | undefined;
  broker.registerNotifier('presence', {
    subscribe: (sub) => {
      held = sub;
    },
    unsubscribe: () => {},
  });
  const handle = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:w@x', queue: served.queue });
  assert.ok(held !== undefined);
  broker.notify(held, { state: 'pending' });
  broker.notify(held, { state: 'active' });
  for (let i = 0; i < 20 && taken.length < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  await hub.close();
  await store.close();
  assert.equal(taken.length, 2, 'the second message was consumed');
  assert.equal(served.ring.size, 1, 'the failed one did not reach the ring');
  assert.equal(reporter.internalErrors.queue_consumer, 1);
  assert.equal(lines[0]?.queue, 'q');
  assert.equal(lines[0]?.subscription, handle.id);
});
