import diagnosticsChannel from 'node:diagnostics_channel';
import { QSA_CHANNEL_NOTIFY, type QsaNotifyEvent, type StatusMessage } from '../qsa/index.js';
import { ENGINE_CHANNEL_NOTIFY } from '../subscription/engine-diagnostics.js';
import type { Clock } from '../util/clock.js';

const SETTLED: Promise<void> = Promise.resolve();

/**
 * Measures NOTIFY-to-queue latency without touching the engine: the engine
 * publishes on `presence-b2b:subscription:notify` when it accepts a NOTIFY,
 * then (in the same synchronous call) the broker publishes every message it
 * queues for it on `presence-b2b:qsa:notify`. Messages queued inside that
 * window are stamped with the NOTIFY's time; `taken(message)` — called when
 * the daemon takes the message out of its queue — reports the elapsed
 * seconds. Status messages not caused by a NOTIFY (errors, timeouts, local
 * agent) are not measured.
 */
export class NotifyLatencyTracker {
  private readonly stamps = new WeakMap<StatusMessage, number>();
  /** The record of the NOTIFY being handled, and when it was accepted (two fields: no object per NOTIFY). */
  private windowRecord: string | undefined = undefined;
  private windowAt = 0;
  /** A close of the window is queued (at most one at a time). */
  private closing = false;
  private readonly closeWindow = (): void => {
    this.windowRecord = undefined;
    this.closing = false;
  };
  private readonly onEngineNotify = (payload: unknown): void => {
    const record = typeof payload === 'object' && payload !== null && 'record' in payload ? payload.record : undefined;
    if (typeof record !== 'string') return;
    this.windowRecord = record;
    this.windowAt = this.clock.now();
    // The window closes once the synchronous NOTIFY handling is over: at the next microtask
    // checkpoint, through a reaction on a settled promise with one shared function (queueMicrotask
    // made a closure and an async resource per NOTIFY: issue 11, docs/latency-tail.md).
    if (!this.closing) {
      this.closing = true;
      SETTLED.then(this.closeWindow);
    }
  };
  private readonly onQueued = (payload: unknown): void => {
    const record = this.windowRecord;
    if (record === undefined) return;
    const { message } = payload as QsaNotifyEvent;
    if (message.record === record) this.stamps.set(message, this.windowAt);
  };

  constructor(
    private readonly clock: Clock,
    private readonly observe: (seconds: number) => void,
  ) {
    diagnosticsChannel.subscribe(ENGINE_CHANNEL_NOTIFY, this.onEngineNotify);
    diagnosticsChannel.subscribe(QSA_CHANNEL_NOTIFY, this.onQueued);
  }

  /** The daemon took `message` from its queue. */
  taken(message: StatusMessage): void {
    const at = this.stamps.get(message);
    if (at === undefined) return;
    this.stamps.delete(message);
    this.observe((this.clock.now() - at) / 1000);
  }

  close(): void {
    diagnosticsChannel.unsubscribe(ENGINE_CHANNEL_NOTIFY, this.onEngineNotify);
    diagnosticsChannel.unsubscribe(QSA_CHANNEL_NOTIFY, this.onQueued);
  }
}
