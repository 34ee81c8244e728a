export { decodeXmlBody, isBlankBody, isXmlBlank } from './xml-body.js';
export type { XmlBodyErrorFactory, XmlBodyProblem } from './xml-body.js';
export { readXmlDocument } from './xml-document.js';
export type { CodedErrorFactory, XmlDocumentCodes, XmlDocumentLimits } from './xml-document.js';
export { escapeXmlAttribute, escapeXmlText } from './xml-escape.js';
export { readXmlTree } from './xml-tree.js';
export type { XmlElement, XmlTreeErrorFactory, XmlTreeLimits, XmlTreeProblem } from './xml-tree.js';
export { isQValue, parseNonNegativeInteger, qValueOf, parseXmlBoolean, parseXmlEnum } from './xml-values.js';
