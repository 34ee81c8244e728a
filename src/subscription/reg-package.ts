import { REG_PACKAGE, type RegInfoState, RegInfoView } from '../reginfo/index.js';
import { type BodyReader, type BodyReading, type EventPackage, mediaTypeOf } from './event-package.js';

/** RFC 3680 §5.4. */
const REGINFO = 'application/reginfo+xml';

/**
 * The reg documents of one subscription dialog, merged by a RegInfoView:
 * every reading carries the complete view and what the body changed.
 * A partial document after a gap asks for a resync (RFC 3680 §5.2); an older
 * full-state document is discarded with an error but no resync; Kamailio's
 * `version="0"` full-state documents are all applied. A NOTIFY without body
 * (Kamailio: the AoR never registered) shows the view as it is.
 */
class RegBodyReader implements BodyReader {
  private readonly view = new RegInfoView();

  read(contentType: string | undefined, body: Uint8Array | undefined): BodyReading {
    const mediaType = mediaTypeOf(contentType);
    if (body !== undefined && body.length > 0 && mediaType !== undefined && mediaType !== REGINFO) {
      return {
        document: this.unchanged(),
        error: { code: 'REGINFO_ERR_CONTENT_TYPE', message: `reginfo: content type ${JSON.stringify(contentType)} is not ${REGINFO}` },
      };
    }
    if (body === undefined || body.length === 0) return { document: this.unchanged() };
    const result = this.view.apply(body);
    const document: RegInfoState = { ...result.view, changes: result.changes };
    const reading: BodyReading = { document };
    if (result.error !== undefined) reading.error = result.error;
    if (result.resync) reading.resync = true;
    return reading;
  }

  private unchanged(): RegInfoState {
    return {
      ...this.view.snapshot(),
      changes: { registrations: { added: [], updated: [], removed: [] }, contacts: { added: [], updated: [], removed: [] } },
    };
  }
}

/** `Event: reg` (RFC 3680): reginfo documents, full or partial, merged per subscription dialog. */
export const REG_EVENT_PACKAGE: EventPackage = {
  name: REG_PACKAGE,
  accept: [REGINFO],
  newReader: () => new RegBodyReader(),
};
