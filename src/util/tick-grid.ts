/**
 * The delay from `now` to the first multiple of `tickMs` at or after `now + delayMs`: `delayMs`
 * lengthened by less than one tick. Timers that need no millisecond (a refresh, a paced SUBSCRIBE)
 * end on a grid so that those due close together fall due together: the timer scheduler fires
 * them in one wake-up, and their answers come back several per turn of the event loop instead of
 * a turn each (docs/establishment.md §19.2).
 */
export function delayToTick(now: number, delayMs: number, tickMs: number): number {
  return Math.ceil((now + delayMs) / tickMs) * tickMs - now;
}
