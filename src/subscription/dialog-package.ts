import { DIALOG_PACKAGE, type DialogInfoState, DialogInfoView } from '../dialoginfo/index.js';
import { type BodyReader, type BodyReading, type EventPackage, mediaTypeOf } from './event-package.js';

/** RFC 4235 §4. */
const DIALOG_INFO = 'application/dialog-info+xml';

/**
 * The dialog documents of one subscription dialog, merged by a
 * DialogInfoView: every reading carries every dialog of the entity and what
 * the body changed (a dialog that ended is reported once, then dropped). A
 * partial document after a gap asks for a resync (RFC 4235 §4.1); an older
 * full-state document (Kamailio sends the Trying and early NOTIFYs from two
 * processes, so they can cross) is discarded with an error but no resync.
 */
class DialogBodyReader implements BodyReader {
  private readonly view = new DialogInfoView();

  read(contentType: string | undefined, body: Uint8Array | undefined): BodyReading {
    const mediaType = mediaTypeOf(contentType);
    if (body !== undefined && body.length > 0 && mediaType !== undefined && mediaType !== DIALOG_INFO) {
      return {
        document: this.unchanged(),
        error: {
          code: 'DIALOGINFO_ERR_CONTENT_TYPE',
          message: `dialog-info: content type ${JSON.stringify(contentType)} is not ${DIALOG_INFO}`,
        },
      };
    }
    if (body === undefined || body.length === 0) return { document: this.unchanged() };
    const result = this.view.apply(body);
    const document: DialogInfoState = { ...result.view, changes: result.changes };
    const reading: BodyReading = { document };
    if (result.error !== undefined) reading.error = result.error;
    if (result.resync) reading.resync = true;
    return reading;
  }

  private unchanged(): DialogInfoState {
    return { ...this.view.snapshot(), changes: { added: [], updated: [], removed: [] } };
  }
}

/** `Event: dialog` (RFC 4235): dialog-info documents, full or partial, merged per subscription dialog. */
export const DIALOG_EVENT_PACKAGE: EventPackage = {
  name: DIALOG_PACKAGE,
  accept: [DIALOG_INFO],
  newReader: () => new DialogBodyReader(),
};
