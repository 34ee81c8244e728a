/**
 * LoopbackPresenceServer: a minimal presence server on 127.0.0.1 UDP for
 * load and outage tests, where a ScriptedSipPeer driven message by message
 * would be too slow. It accepts every SUBSCRIBE (200 with a To tag, the
 * Expires asked for up to `maxExpires`, its Contact) and sends the NOTIFY that
 * follows (active with a PIDF body, or terminated;reason=timeout for
 * Expires: 0); a retransmitted SUBSCRIBE (same branch) gets the same 200
 * again and no new NOTIFY. An in-dialog SUBSCRIBE (To tag) for a dialog it does not
 * hold (never made, or `forget()`) gets 481 (as a server that restarted);
 * one for a dialog it holds is a refresh, and its Contact becomes the target of the NOTIFYs
 * (RFC 6665 §3.1, target refresh). `down = true` makes it stop answering: it still
 * records each new SUBSCRIBE (a branch not seen before) with the time of the
 * injected clock, then drops it. Only what a test reads is kept.
 */
import { Buffer } from 'node:buffer';
import { createSocket, type Socket } from 'node:dgram';
import {
  contactsOf,
  createResponse,
  fromHeader,
  parseSipMessage,
  serializeSipMessage,
  type SipRequest,
  toHeader,
  topVia,
} from '../../src/sip/codec/index.js';
import type { Clock } from '../../src/util/clock.js';
import { buildNotify } from './sip-fixtures.js';

export interface ArrivedSubscribe {
  /** Injected-clock time of arrival. */
  readonly at: number;
  /** The To URI (the record): which subscription it serves. */
  readonly record: string;
  readonly expires: number;
  /** True when the server was down: dropped unanswered. */
  readonly dropped: boolean;
  readonly callId: string;
  readonly cseq: number;
  /** It had a To tag (a refresh, an unSUBSCRIBE, a resume). */
  readonly inDialog: boolean;
  /** The URI of its Contact. */
  readonly contact: string | undefined;
  /** The status it was answered with (0 when dropped). */
  readonly status: number;
}

interface ServerDialog {
  readonly tag: string;
  notifyCSeq: number;
}

export class LoopbackPresenceServer {
  /** Every new SUBSCRIBE (not its retransmissions), in order of arrival. */
  readonly subscribes: ArrivedSubscribe[] = [];
  /** When true, nothing is answered. */
  down = false;
  /** Datagrams received and sent (for settling: compare with the B2BUA's transport counters). */
  received = 0;
  sent = 0;
  private readonly answers = new Map<string, Buffer>();
  private readonly dialogs = new Map<string, ServerDialog>();
  private nextTag = 0;
  private nextBranch = 0;

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
    private readonly clock: Clock,
    private readonly maxExpires: number,
  ) {
    socket.on('message', (data, remote) => this.onDatagram(data, remote.address, remote.port));
  }

  /** Forgets the dialog of `callId` (as a restart would): an in-dialog SUBSCRIBE then gets 481. */
  forget(callId: string): void {
    this.dialogs.delete(callId);
  }

  /** Whether it holds the dialog of `callId`. */
  holds(callId: string): boolean {
    return this.dialogs.has(callId);
  }

  static async start(clock: Clock, options: { maxExpires?: number } = {}): Promise<LoopbackPresenceServer> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new LoopbackPresenceServer(socket, socket.address().port, clock, options.maxExpires ?? 3600);
  }

  /** A record this server serves: `sip:<user>@127.0.0.1:<port>` (numeric host, no DNS). */
  record(user: string): string {
    return `sip:${user}@127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private onDatagram(data: Buffer, address: string, port: number): void {
    this.received++;
    let message: ReturnType<typeof parseSipMessage>;
    try {
      message = parseSipMessage(data);
    } catch {
      return;
    }
    if (message.kind !== 'request' || message.method !== 'SUBSCRIBE') return;
    const branch = topVia(message).branch ?? '';
    const earlier = this.answers.get(branch);
    if (earlier !== undefined) {
      this.send(earlier, address, port);
      return;
    }
    if (this.down) {
      if (!this.answers.has(`dropped:${branch}`)) {
        this.answers.set(`dropped:${branch}`, Buffer.alloc(0));
        this.subscribes.push(this.arrival(message, 0));
      }
      return;
    }
    const callId = message.headers.get('Call-ID') ?? '';
    let dialog = this.dialogs.get(callId);
    const toTag = toHeader(message).tag;
    if (toTag !== undefined && (dialog === undefined || dialog.tag !== toTag)) {
      this.subscribes.push(this.arrival(message, 481));
      const refused = Buffer.from(serializeSipMessage(createResponse(message, 481, 'Subscription Does Not Exist')));
      this.answers.set(branch, refused);
      this.send(refused, address, port);
      return;
    }
    const arrival = this.arrival(message, 200);
    this.subscribes.push(arrival);
    if (dialog === undefined) {
      dialog = { tag: toHeader(message).tag ?? `ps${++this.nextTag}`, notifyCSeq: 0 };
      this.dialogs.set(callId, dialog);
    }
    const granted = Math.min(arrival.expires, this.maxExpires);
    const contact = `<sip:ps@127.0.0.1:${this.port}>`;
    const response = createResponse(message, 200, undefined, {
      ...(toHeader(message).tag === undefined ? { toTag: dialog.tag } : {}),
      headers: [
        ['Expires', String(granted)],
        ['Contact', contact],
      ],
    });
    const bytes = Buffer.from(serializeSipMessage(response));
    this.answers.set(branch, bytes);
    this.send(bytes, address, port);
    this.sendNotify(message, dialog, granted, address, port);
    if (granted === 0) this.dialogs.delete(callId);
  }

  private arrival(request: SipRequest, status: number): ArrivedSubscribe {
    const contacts = contactsOf(request);
    return {
      at: this.clock.now(),
      record: toHeader(request).uri,
      expires: Number(request.headers.get('Expires') ?? '3600'),
      dropped: status === 0,
      callId: request.headers.get('Call-ID') ?? '',
      cseq: Number.parseInt(request.headers.get('CSeq') ?? '', 10),
      inDialog: toHeader(request).tag !== undefined,
      contact: contacts === '*' ? undefined : contacts[0]?.uri,
      status,
    };
  }

  private sendNotify(subscribe: SipRequest, dialog: ServerDialog, granted: number, address: string, port: number): void {
    const from = fromHeader(subscribe);
    const contacts = contactsOf(subscribe);
    const target = contacts === '*' || contacts[0] === undefined ? from.uri : contacts[0].uri;
    dialog.notifyCSeq++;
    const bytes = buildNotify({
      requestUri: target,
      fromUri: toHeader(subscribe).uri,
      fromTag: dialog.tag,
      toUri: from.uri,
      toTag: from.tag ?? null,
      callId: subscribe.headers.get('Call-ID') ?? '',
      cseq: dialog.notifyCSeq,
      viaHost: `127.0.0.1:${this.port}`,
      branch: `z9hG4bK-lps-${++this.nextBranch}`,
      contact: `<sip:ps@127.0.0.1:${this.port}>`,
      subscriptionState: granted > 0 ? `active;expires=${granted}` : 'terminated;reason=timeout',
      ...(granted > 0 ? {} : { body: '' }),
    });
    this.send(bytes, address, port);
  }

  private send(bytes: Uint8Array, address: string, port: number): void {
    this.sent++;
    this.socket.send(bytes, port, address);
  }
}
