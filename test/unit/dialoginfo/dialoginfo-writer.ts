import type { DialogIdentity, DialogInfoDocument, DialogParticipant } from '../../../src/dialoginfo/dialoginfo-types.js';
import { DIALOG_INFO_NS } from '../../../src/dialoginfo/dialoginfo-types.js';
import { escapeXmlAttribute as attr, escapeXmlText as text } from '../../../src/xml/xml-escape.js';

/** Writes a dialog-info document (the test side of the round trip); `prefix` names the namespace prefix. */
export function writeDialogInfo(document: DialogInfoDocument, prefix = ''): string {
  const p = prefix === '' ? '' : prefix + ':';
  const declaration = prefix === '' ? `xmlns="${DIALOG_INFO_NS}"` : `xmlns:${prefix}="${DIALOG_INFO_NS}"`;
  let out =
    `<?xml version="1.0"?>\n<${p}dialog-info ${declaration} version="${document.version}" ` +
    `state="${document.state}" entity="${attr(document.entity)}">`;
  for (const dialog of document.dialogs) {
    out += `<${p}dialog id="${attr(dialog.id)}"`;
    if (dialog.callId !== undefined) out += ` call-id="${attr(dialog.callId)}"`;
    if (dialog.localTag !== undefined) out += ` local-tag="${attr(dialog.localTag)}"`;
    if (dialog.remoteTag !== undefined) out += ` remote-tag="${attr(dialog.remoteTag)}"`;
    if (dialog.direction !== undefined) out += ` direction="${dialog.direction}"`;
    out += `><${p}state`;
    if (dialog.event !== undefined) out += ` event="${dialog.event}"`;
    if (dialog.code !== undefined) out += ` code="${dialog.code}"`;
    out += `>${dialog.state}</${p}state>`;
    if (dialog.duration !== undefined) out += `<${p}duration>${dialog.duration}</${p}duration>`;
    if (dialog.replaces !== undefined) {
      const r = dialog.replaces;
      out += `<${p}replaces call-id="${attr(r.callId)}" local-tag="${attr(r.localTag)}" remote-tag="${attr(r.remoteTag)}"/>`;
    }
    if (dialog.referredBy !== undefined) out += identity(dialog.referredBy, `${p}referred-by`);
    if (dialog.routeSet.length > 0) {
      out += `<${p}route-set>${dialog.routeSet.map((hop) => `<${p}hop>${text(hop)}</${p}hop>`).join('')}</${p}route-set>`;
    }
    if (dialog.local !== undefined) out += participant(dialog.local, `${p}local`, p);
    if (dialog.remote !== undefined) out += participant(dialog.remote, `${p}remote`, p);
    out += `</${p}dialog>`;
  }
  return out + `</${p}dialog-info>\n`;
}

function identity(value: DialogIdentity, qname: string): string {
  const display = value.display !== undefined ? ` display="${attr(value.display)}"` : '';
  return `<${qname}${display}>${text(value.uri)}</${qname}>`;
}

function participant(value: DialogParticipant, qname: string, p: string): string {
  let out = `<${qname}>`;
  if (value.identity !== undefined) out += identity(value.identity, `${p}identity`);
  if (value.target !== undefined) {
    out += `<${p}target uri="${attr(value.target.uri)}">`;
    for (const param of value.target.params) out += `<${p}param pname="${attr(param.name)}" pval="${attr(param.value)}"/>`;
    out += `</${p}target>`;
  }
  if (value.cseq !== undefined) out += `<${p}cseq>${value.cseq}</${p}cseq>`;
  return out + `</${qname}>`;
}
