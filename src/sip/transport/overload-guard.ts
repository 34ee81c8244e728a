import type { Timer, TimerScheduler } from '../../util/timer-scheduler.js';
import type { OverloadOptions } from './transport-options.js';
import { ProcUdpBacklog } from './udp-backlog.js';

const DEFAULT_SAMPLE_INTERVAL_MS = 100;

/**
 * Decides when the transport sheds requests (docs/hostile-input.md, "Floods"):
 * it samples the receive backlog every `sampleIntervalMs` while messages come
 * in (an idle process does not sample), turns shedding on when a sample is
 * over `backlogLimitBytes` and off when one is under half of it (hysteresis,
 * so that it does not flap at the limit). The hot path reads one boolean.
 */
export class OverloadGuard {
  /** True while requests are to be shed. */
  shedding = false;
  /** The last backlog sample, octets. */
  lastBacklog = 0;
  private limit = 0;
  private readonly intervalMs: number;
  private readonly read: (sockets: ReadonlyArray<{ address: string; port: number }>) => number;
  private timer: Timer | undefined;
  private seenActivity = -1;

  constructor(
    private readonly options: OverloadOptions,
    private readonly scheduler: TimerScheduler,
    private readonly sockets: () => ReadonlyArray<{ address: string; port: number }>,
    /** The receive buffer sizes of our UDP sockets, for `auto`. */
    private readonly bufferSizes: () => number[],
    /** A counter that moves when messages arrive (the transport's `received`). */
    private readonly activity: () => number,
    private readonly onChange: (shedding: boolean, backlog: number) => void,
  ) {
    this.intervalMs = options.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    if (options.backlog !== undefined) this.read = options.backlog;
    else {
      const proc = new ProcUdpBacklog();
      this.read = (sockets) => proc.read(sockets);
    }
  }

  /** The limit in force, octets (0: off). */
  get limitBytes(): number {
    return this.limit;
  }

  start(): void {
    const given = this.options.backlogLimitBytes;
    if (given === 'auto') {
      const sizes = this.bufferSizes().filter((n) => n > 0);
      this.limit = sizes.length === 0 ? 0 : Math.floor(Math.min(...sizes) / 2);
    } else {
      this.limit = given;
    }
    if (this.limit <= 0 || this.timer !== undefined) return;
    this.timer = this.scheduler.after(this.intervalMs, this.sample);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private readonly sample = (): void => {
    this.timer = undefined;
    const activity = this.activity();
    const moved = activity !== this.seenActivity;
    this.seenActivity = activity;
    // Nothing received since the last sample and not shedding: no backlog can have built
    // up, so an idle process reads nothing (the /proc read is the only cost of sampling).
    if (moved || this.shedding) {
      const backlog = this.read(this.sockets());
      this.lastBacklog = backlog;
      if (!this.shedding && backlog > this.limit) {
        this.shedding = true;
        this.onChange(true, backlog);
      } else if (this.shedding && backlog < this.limit / 2) {
        this.shedding = false;
        this.onChange(false, backlog);
      }
    }
    try {
      this.timer = this.scheduler.after(this.intervalMs, this.sample);
    } catch {
      // The scheduler closed under us (shutdown): no more sampling.
      this.timer = undefined;
    }
  };
}
