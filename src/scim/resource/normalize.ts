/**
 * Turns a resource as a client sent it (POST, PUT, or the value of a PATCH) into the canonical document
 * the rest of SCIM works on: attribute names as the registry spells them, extension attributes under
 * their schema URN, values coerced and checked (resource/values.ts). readOnly attributes (id, meta,
 * groups) are ignored as RFC 7643 §2.2 asks; unknown attributes are refused, never dropped silently.
 */
import { invalidSyntax, invalidValue } from '../errors.ts';
import type { ResourceSchema } from '../registry/attributes.ts';
import { attributeValue, isObject, type Doc } from './values.ts';

export function normalizeResource(input: unknown, schema: ResourceSchema): Doc {
  if (!isObject(input)) throw invalidSyntax('the body must be a JSON object');
  const doc: Doc = {};
  for (const [key, raw] of Object.entries(input)) {
    if (key === 'schemas') {
      checkSchemas(raw, schema);
      continue;
    }
    const extension = schema.extension(key);
    if (extension) {
      if (raw === null) continue;
      if (!isObject(raw)) throw invalidValue(`${extension} must be an object`);
      const ext = normalizeExtension(raw, schema, extension);
      if (Object.keys(ext).length > 0) doc[extension] = ext;
      continue;
    }
    const resolved = schema.resolve(key);
    const attribute = resolved?.attribute;
    if (!resolved || !attribute || resolved.sub) throw invalidValue(`unknown attribute "${key.slice(0, 100)}"`);
    if (attribute.mutability === 'readOnly') continue;
    const value = attributeValue(attribute, raw);
    if (value === undefined) continue;
    if (resolved.schema === '' || resolved.schema === schema.core) doc[attribute.name] = value;
    else {
      const existing = doc[resolved.schema];
      doc[resolved.schema] = { ...(isObject(existing) ? existing : {}), [attribute.name]: value };
    }
  }
  return doc;
}

function normalizeExtension(raw: Doc, schema: ResourceSchema, urn: string): Doc {
  const out: Doc = {};
  for (const [key, v] of Object.entries(raw)) {
    const attribute = schema.resolve(`${urn}:${key}`)?.attribute;
    if (!attribute) throw invalidValue(`unknown attribute "${key.slice(0, 100)}" of ${urn}`);
    if (attribute.mutability === 'readOnly') continue;
    const value = attributeValue(attribute, v);
    if (value !== undefined) out[attribute.name] = value;
  }
  return out;
}

function checkSchemas(raw: unknown, schema: ResourceSchema): void {
  if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string')) throw invalidSyntax('"schemas" must be an array of URNs');
  const known = schema.schemaUrns.map((u) => u.toLowerCase());
  for (const s of raw as string[]) {
    if (!known.includes(s.toLowerCase())) throw invalidValue(`unknown schema "${s.slice(0, 120)}"`);
  }
  if (!(raw as string[]).some((s) => s.toLowerCase() === schema.core.toLowerCase())) throw invalidValue(`"schemas" must include ${schema.core}`);
}

/** Required attributes present (RFC 7643 §2.2 "required"), after create, replace or patch. */
export function checkRequired(doc: Doc, schema: ResourceSchema): void {
  for (const urn of schema.schemaUrns) {
    const container = urn === schema.core ? doc : doc[urn];
    for (const attribute of schema.attributesOf(urn)) {
      if (!attribute.required) continue;
      const value = isObject(container) ? container[attribute.name] : undefined;
      if (value === undefined || value === '') throw invalidValue(`${attribute.name} is required`);
    }
  }
}
