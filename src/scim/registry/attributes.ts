/**
 * The attribute registry: built from the schema documents in `scim/`, plus the common attributes every
 * resource has (RFC 7643 §3.1). One registry drives validation (types, mutability), the projection of
 * `attributes`/`excludedAttributes`, and which names a filter, `sortBy` or PATCH path may use: a name the
 * registry does not resolve is refused (invalidFilter / invalidPath), never ignored.
 * Attribute names are case-insensitive (RFC 7643 §2.1); URN prefixes are too.
 */
import type { AttributeDocument, ScimDocuments, SubAttributeDocument } from './schema-documents.ts';
import type { ResourceKind } from './urns.ts';
import { URN } from './urns.ts';

export type AttributeType = AttributeDocument['type'];

export interface Attribute {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: AttributeDocument['mutability'];
  readonly returned: AttributeDocument['returned'];
  readonly canonicalValues: readonly string[];
  /** Sub-attributes by lower-cased name (complex attributes only). */
  readonly sub: ReadonlyMap<string, Attribute>;
  /** The schema URN that defines it; '' for the common attributes (id, externalId, meta). */
  readonly schema: string;
}

/** A resolved attribute path: `attr`, `attr.sub`, `urn:…:attr`, `urn:…:attr.sub`, or a bare extension URN. */
export interface ResolvedPath {
  readonly schema: string;
  /** Undefined when the path names a whole extension schema (`urn:…:enterprise:2.0:User`). */
  readonly attribute?: Attribute;
  readonly sub?: Attribute;
}

function toAttribute(doc: AttributeDocument | SubAttributeDocument, schema: string): Attribute {
  const subs = 'subAttributes' in doc ? (doc.subAttributes ?? []) : [];
  return {
    name: doc.name,
    type: doc.type,
    multiValued: doc.multiValued,
    required: doc.required,
    caseExact: doc.caseExact ?? false,
    mutability: doc.mutability,
    returned: doc.returned,
    canonicalValues: doc.canonicalValues ?? [],
    sub: new Map(subs.map((s) => [s.name.toLowerCase(), toAttribute(s, schema)])),
    schema,
  };
}

const simple = (name: string, type: AttributeType, extra: Partial<Attribute> = {}): Attribute => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readOnly',
  returned: 'default',
  canonicalValues: [],
  sub: new Map(),
  schema: '',
  ...extra,
});

/** RFC 7643 §3.1: id (always returned, case-exact), externalId (set by the client), meta. */
const COMMON: readonly Attribute[] = [
  simple('id', 'string', { caseExact: true, returned: 'always' }),
  simple('externalId', 'string', { caseExact: true, mutability: 'readWrite' }),
  simple('meta', 'complex', {
    sub: new Map(
      [
        simple('resourceType', 'string', { caseExact: true }),
        simple('created', 'dateTime'),
        simple('lastModified', 'dateTime'),
        simple('location', 'reference', { caseExact: true }),
        simple('version', 'string', { caseExact: true }),
      ].map((a) => [a.name.toLowerCase(), a]),
    ),
  }),
];

export class ResourceSchema {
  readonly kind: ResourceKind;
  readonly core: string;
  readonly extensions: readonly string[];
  /** Attributes by schema URN ('' for common), then by lower-cased name. */
  readonly #bySchema = new Map<string, Map<string, Attribute>>();

  constructor(kind: ResourceKind, core: string, extensions: readonly string[], docs: ScimDocuments) {
    this.kind = kind;
    this.core = core;
    this.extensions = extensions;
    this.#bySchema.set('', new Map(COMMON.map((a) => [a.name.toLowerCase(), a])));
    for (const urn of [core, ...extensions]) {
      const doc = docs.schemas.find((s) => s.id === urn);
      if (!doc) throw new TypeError(`scim/: no schema document for ${urn}`);
      this.#bySchema.set(urn, new Map(doc.attributes.map((a) => [a.name.toLowerCase(), toAttribute(a, urn)])));
    }
  }

  /** Every schema URN a resource of this type may carry. */
  get schemaUrns(): readonly string[] {
    return [this.core, ...this.extensions];
  }

  /** The attributes of one schema ('' for the common ones), in document order. */
  attributesOf(schema: string): readonly Attribute[] {
    return [...(this.#bySchema.get(schema)?.values() ?? [])];
  }

  /** The extension URN `name` spells (case-insensitively), if any. */
  extension(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.extensions.find((u) => u.toLowerCase() === lower);
  }

  /** Resolves an attribute path, or undefined when the registry has no such attribute. */
  resolve(path: string): ResolvedPath | undefined {
    let schema: string | undefined;
    let rest = path;
    if (/^urn:/i.test(path)) {
      const lower = path.toLowerCase();
      const urn = this.schemaUrns
        .filter((u) => lower === u.toLowerCase() || lower.startsWith(`${u.toLowerCase()}:`))
        .sort((a, b) => b.length - a.length)[0];
      if (!urn) return undefined;
      if (lower === urn.toLowerCase()) return urn === this.core ? undefined : { schema: urn };
      schema = urn;
      rest = path.slice(urn.length + 1);
    }
    const dot = rest.indexOf('.');
    const name = (dot < 0 ? rest : rest.slice(0, dot)).toLowerCase();
    const subName = dot < 0 ? undefined : rest.slice(dot + 1).toLowerCase();
    if (name === '' || subName === '' || subName?.includes('.')) return undefined;
    const candidates = schema !== undefined ? [schema] : ['', this.core];
    for (const s of candidates) {
      const attribute = this.#bySchema.get(s)?.get(name);
      if (!attribute) continue;
      if (subName === undefined) return { schema: s, attribute };
      const sub = attribute.sub.get(subName);
      return sub ? { schema: s, attribute, sub } : undefined;
    }
    return undefined;
  }
}

export interface ScimRegistry {
  readonly User: ResourceSchema;
  readonly Group: ResourceSchema;
}

export function createRegistry(docs: ScimDocuments): ScimRegistry {
  return {
    User: new ResourceSchema('User', URN.user, [URN.enterprise], docs),
    Group: new ResourceSchema('Group', URN.group, [], docs),
  };
}
