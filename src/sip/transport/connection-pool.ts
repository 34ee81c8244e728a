import type { SipTransportName } from '../codec/message.js';
import type { SipConnection } from './connection.js';
import { unbracket } from './via-stamping.js';

/** The pool key of a remote endpoint: `transport:host:port`, host lower-cased without brackets. */
export function connectionKey(transport: SipTransportName, host: string, port: number): string {
  return `${transport}:${unbracket(host).toLowerCase()}:${port}`;
}

/**
 * The open TCP/TLS connections, by id (to answer on the connection a request
 * came on, RFC 3261 §18.2.2) and by remote endpoint (to reuse a connection for
 * the next message to the same place, RFC 3261 §18.1.1). A connection can be
 * known under several keys: the name it was opened to and the address it reached.
 */
export class ConnectionPool {
  private readonly byId = new Map<number, SipConnection>();
  private readonly byKey = new Map<string, SipConnection>();
  private readonly keysOf = new Map<number, string[]>();

  get size(): number {
    return this.byId.size;
  }

  add(connection: SipConnection): void {
    this.byId.set(connection.id, connection);
    this.keysOf.set(connection.id, []);
  }

  /** Makes `connection` the one used for `key` (the newest connection to an endpoint wins). */
  alias(connection: SipConnection, key: string): void {
    const keys = this.keysOf.get(connection.id);
    if (keys === undefined || keys.includes(key)) return;
    keys.push(key);
    this.byKey.set(key, connection);
  }

  get(id: number): SipConnection | undefined {
    return this.byId.get(id);
  }

  find(key: string): SipConnection | undefined {
    return this.byKey.get(key);
  }

  remove(connection: SipConnection): void {
    if (!this.byId.delete(connection.id)) return;
    for (const key of this.keysOf.get(connection.id) ?? []) {
      if (this.byKey.get(key) === connection) this.byKey.delete(key);
    }
    this.keysOf.delete(connection.id);
  }

  all(): SipConnection[] {
    return [...this.byId.values()];
  }
}
