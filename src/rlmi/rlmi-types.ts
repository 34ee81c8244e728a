/** Namespace of application/rlmi+xml (RFC 4662 §5). */
export const RLMI_NS = 'urn:ietf:params:xml:ns:rlmi';

/** Media type of the RLMI document, the root of a resource list NOTIFY body. */
export const RLMI_MEDIA_TYPE = 'application/rlmi+xml';

/** State of the back-end subscription behind one instance of a resource (RFC 4662 §5.2). */
export type RlmiInstanceState = 'active' | 'pending' | 'terminated';

export const RLMI_INSTANCE_STATES: readonly RlmiInstanceState[] = ['active', 'pending', 'terminated'];

/** `<name>`: a display name with its language. */
export interface RlmiName {
  text: string;
  lang?: string;
}

/** `<instance>`: one subscription to a resource (RFC 4662 §5.2). */
export interface RlmiInstance {
  id: string;
  state: RlmiInstanceState;
  /** Why the instance is terminated or pending (a Subscription-State reason: `rejected`, `noresource`, …). */
  reason?: string;
  /** Content-ID (without angle brackets) of the body part holding the resource's state. */
  cid?: string;
}

/** `<resource>`: one member of the list. */
export interface RlmiResource {
  uri: string;
  names: RlmiName[];
  instances: RlmiInstance[];
}

/** `<list>`: the RLMI document (RFC 4662 §5). */
export interface RlmiDocument {
  /** The list's URI. */
  uri: string;
  version: number;
  /** true: every resource of the list is here; false: only those whose state changed. */
  fullState: boolean;
  names: RlmiName[];
  resources: RlmiResource[];
  /** Problems that did not prevent reading the document. */
  warnings: string[];
}
