import type { RegInfoContact, RegInfoDocument } from '../../../src/reginfo/reginfo-types.js';
import { REGINFO_NS } from '../../../src/reginfo/reginfo-types.js';
import { escapeXmlAttribute as attr, escapeXmlText as text } from '../../../src/xml/xml-escape.js';

/** Writes a reginfo document (the test side of the round trip); `prefix` names the namespace prefix ('' = default). */
export function writeReginfo(document: RegInfoDocument, prefix = ''): string {
  const p = prefix === '' ? '' : prefix + ':';
  const declaration = prefix === '' ? `xmlns="${REGINFO_NS}"` : `xmlns:${prefix}="${REGINFO_NS}"`;
  let out = `<?xml version="1.0"?>\n<${p}reginfo ${declaration} version="${document.version}" state="${document.state}">`;
  for (const registration of document.registrations) {
    out += `<${p}registration aor="${attr(registration.aor)}" id="${attr(registration.id)}" state="${registration.state}">`;
    for (const contact of registration.contacts) out += writeContact(contact, p);
    out += `</${p}registration>`;
  }
  return out + `</${p}reginfo>\n`;
}

function writeContact(contact: RegInfoContact, p: string): string {
  let out = `<${p}contact id="${attr(contact.id)}" state="${contact.state}"`;
  if (contact.event !== undefined) out += ` event="${contact.event}"`;
  if (contact.expires !== undefined) out += ` expires="${contact.expires}"`;
  if (contact.q !== undefined) out += ` q="${contact.q}"`;
  if (contact.retryAfter !== undefined) out += ` retry-after="${contact.retryAfter}"`;
  if (contact.durationRegistered !== undefined) out += ` duration-registered="${contact.durationRegistered}"`;
  if (contact.callId !== undefined) out += ` callid="${attr(contact.callId)}"`;
  if (contact.cseq !== undefined) out += ` cseq="${contact.cseq}"`;
  out += `><${p}uri>${text(contact.uri)}</${p}uri>`;
  if (contact.displayName !== undefined) {
    const lang = contact.displayName.lang !== undefined ? ` xml:lang="${attr(contact.displayName.lang)}"` : '';
    out += `<${p}display-name${lang}>${text(contact.displayName.text)}</${p}display-name>`;
  }
  for (const param of contact.unknownParams) {
    out += `<${p}unknown-param name="${attr(param.name)}">${text(param.value)}</${p}unknown-param>`;
  }
  return out + `</${p}contact>`;
}
