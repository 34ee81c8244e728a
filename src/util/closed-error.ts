import { PresenceB2BError } from './errors.js';

/**
 * A component was used after its `close()`: the timer scheduler, the daemon's
 * queue hub. Code `B2B_ERR_CLOSED`; the message names the component. It is a
 * programming error of the caller (a timer armed during shutdown), never
 * caused by input from the network.
 */
export class ClosedError extends PresenceB2BError {
  constructor(component: string) {
    super('B2B_ERR_CLOSED', `${component} is closed`);
  }
}
