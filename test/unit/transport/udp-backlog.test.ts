/** The receive backlog read from /proc/net/udp{,6} text (docs/hostile-input.md, "Floods"). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { procAddress, udpBacklogOf } from '../../../src/sip/transport/udp-backlog.js';

const UDP = [
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
  ' 6257: 00000000:87B9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 463376 2 00000000662b229f 0',
  ' 9350: 0100007F:13C4 00000000:0000 07 00000000:00012000 00:00000000 00000000     0        0 474767 2 000000005961cb35 17',
  ' 9351: 0200007F:13C4 00000000:0000 07 00000000:00000800 00:00000000 00000000     0        0 474768 2 000000005961cb36 0',
  '',
].join('\n');

const UDP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
  '  100: 00000000000000000000000001000000:13C5 00000000000000000000000000000000:0000 07 00000000:00000400 00:00000000 00000000  1000        0 1 2 0 0',
  '',
].join('\n');

test('addresses as /proc writes them (host byte order per 32-bit word) are read back', () => {
  assert.equal(procAddress('0100007F', true), '127.0.0.1');
  assert.equal(procAddress('7F000001', false), '127.0.0.1');
  assert.equal(procAddress('00000000000000000000000001000000', true), '0:0:0:0:0:0:0:1');
  assert.equal(procAddress('xyz', true), undefined);
});

test('rx_queue is summed over the lines of our sockets only (address and port), wildcards on either side', () => {
  // 127.0.0.1:5060 holds 0x12000 octets; 127.0.0.2:5060 (another process) 0x800; 0.0.0.0:34745 nothing.
  assert.equal(udpBacklogOf(UDP, [{ address: '127.0.0.1', port: 5060 }]), 0x12000);
  assert.equal(udpBacklogOf(UDP, [{ address: '0.0.0.0', port: 5060 }]), 0x12000 + 0x800);
  assert.equal(udpBacklogOf(UDP, [{ address: '127.0.0.1', port: 5061 }]), 0);
  assert.equal(udpBacklogOf(UDP6, [{ address: '::1', port: 5061 }]), 0x400);
  assert.equal(udpBacklogOf(UDP6, [{ address: '::', port: 5061 }]), 0x400);
  assert.equal(udpBacklogOf('', [{ address: '127.0.0.1', port: 5060 }]), 0);
  assert.equal(udpBacklogOf('title\ngarbage line\n', [{ address: '127.0.0.1', port: 5060 }]), 0);
});
