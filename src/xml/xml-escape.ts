/**
 * Escaping for the XML we write (buildPidf, raw extension elements, the
 * reginfo, dialog-info and RLMI builders).
 *
 * Characters XML 1.0 cannot carry at all (§2.2 Char: most C0 controls,
 * U+FFFE, U+FFFF, unpaired surrogates) become U+FFFD, so that whatever
 * we write is well-formed. CR is written as `&#13;` because a parser turns a
 * literal CR into LF (§2.11); in attributes TAB and LF are escaped too,
 * because attribute-value normalization turns them into spaces (§3.3.3).
 */

// `u` flag: a surrogate pair is one code point here, so only unpaired halves match.
const TEXT_SPECIAL = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/u;
const TEXT_SPECIAL_ALL = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/gu;
const ATTR_SPECIAL = /[&<>"\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/u;
const ATTR_SPECIAL_ALL = /[&<>"\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/gu;

function replacement(ch: string): string {
  switch (ch) {
    case '&':
      return '&amp;';
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '"':
      return '&quot;';
    case '\t':
      return '&#9;';
    case '\n':
      return '&#10;';
    case '\r':
      return '&#13;';
    default:
      return '\uFFFD';
  }
}

/** Escapes character data (element content). */
export function escapeXmlText(value: string): string {
  return TEXT_SPECIAL.test(value) ? value.replace(TEXT_SPECIAL_ALL, replacement) : value;
}

/** Escapes an attribute value to be written between double quotes. */
export function escapeXmlAttribute(value: string): string {
  return ATTR_SPECIAL.test(value) ? value.replace(ATTR_SPECIAL_ALL, replacement) : value;
}
