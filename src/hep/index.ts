export { scanCallId } from './call-id-scan.js';
export { HepError, type HepErrorCode } from './hep-error.js';
export { HepExporter, type HepExporterOptions, type HepExporterStats } from './hep-exporter.js';
export {
  encodeHep3,
  HEP3_MAGIC,
  HEP_FAMILY_IPV4,
  HEP_FAMILY_IPV6,
  HEP_IP_PROTOCOL_TCP,
  HEP_IP_PROTOCOL_UDP,
  HEP_PROTOCOL_TYPE_SIP,
  HEP_VENDOR_GENERIC,
  type Hep3Packet,
  HepChunk,
} from './hep3-packet.js';
export { ipOctets } from './ip-octets.js';
