export type { ResolvedTarget, TargetResolver } from './types.js';
export type { DnsClient, NaptrRecord, NodeDnsClientOptions, SrvRecord, StaticDnsRecords } from './dns-client.js';
export { DnsLookupError, NodeDnsClient, StaticDnsClient } from './dns-client.js';
export { SipDnsError } from './errors.js';
export type { Rfc3263ResolverOptions } from './rfc3263-resolver.js';
export { Rfc3263Resolver } from './rfc3263-resolver.js';
export { orderSrvRecords } from './srv-order.js';
