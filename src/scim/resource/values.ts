/**
 * Coercion and checking of one attribute value against its registry definition. Accepts what Entra ID
 * and Okta really send: booleans as the strings "True"/"False", sub-attribute names in any case, a
 * manager given as a bare id, a single object where an array is expected. readOnly sub-attributes in
 * requests are ignored (RFC 7643 §2.2); unknown ones are refused.
 */
import type { Attribute } from '../registry/attributes.ts';
import { invalidValue } from '../errors.ts';

export type Doc = Record<string, unknown>;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Longest string value accepted for any attribute (characters). */
export const MAX_STRING = 2048;
/** Most values of one multi-valued attribute (group members excepted). */
export const MAX_VALUES = 100;

export function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function toBoolean(v: unknown, what: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw invalidValue(`${what} must be a boolean`);
}

/** A simple (non-complex) value; null means "unassigned" and is returned as undefined. */
export function simpleValue(attribute: Attribute, v: unknown, what: string): unknown {
  if (v === null || v === undefined) return undefined;
  switch (attribute.type) {
    case 'boolean':
      return toBoolean(v, what);
    case 'integer':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      throw invalidValue(`${what} must be an integer`);
    case 'decimal':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      throw invalidValue(`${what} must be a number`);
    case 'dateTime':
      if (typeof v === 'string' && DATE_TIME.test(v) && !Number.isNaN(Date.parse(v))) return v;
      throw invalidValue(`${what} must be an xsd:dateTime`);
    case 'binary':
      if (typeof v === 'string' && v.length <= 16_384 && BASE64.test(v)) return v;
      throw invalidValue(`${what} must be base64`);
    case 'complex':
      throw invalidValue(`${what} is complex`);
    case 'string':
    case 'reference': {
      const s = typeof v === 'number' && attribute.type === 'string' ? String(v) : v;
      if (typeof s !== 'string') throw invalidValue(`${what} must be a string`);
      if (s.length > MAX_STRING) throw invalidValue(`${what} is longer than ${MAX_STRING} characters`);
      // eslint-disable-next-line no-control-regex -- refusing control characters is the point
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s)) throw invalidValue(`${what} holds control characters`);
      return s;
    }
  }
}

/** A complex value: sub-attribute names made canonical, readOnly ones dropped, unknown ones refused. */
export function complexValue(attribute: Attribute, v: unknown, what: string): Doc | undefined {
  if (v === null || v === undefined) return undefined;
  // Entra sets the manager as a bare id: {"path": "…:manager", "value": "<id>"}.
  if (typeof v === 'string' && attribute.sub.has('value')) v = { value: v };
  if (!isObject(v)) throw invalidValue(`${what} must be an object`);
  const out: Doc = {};
  for (const [key, raw] of Object.entries(v)) {
    const sub = attribute.sub.get(key.toLowerCase());
    if (!sub) throw invalidValue(`${what} has no sub-attribute "${key.slice(0, 64)}"`);
    if (sub.mutability === 'readOnly') continue;
    const value = simpleValue(sub, raw, `${attribute.name}.${sub.name}`);
    if (value !== undefined) out[sub.name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Any attribute value: arrays for multi-valued ones (a lone value is wrapped), undefined when unassigned. */
export function attributeValue(attribute: Attribute, v: unknown, what = attribute.name): unknown {
  if (v === null || v === undefined) return undefined;
  if (!attribute.multiValued) return attribute.type === 'complex' ? complexValue(attribute, v, what) : simpleValue(attribute, v, what);
  const list = Array.isArray(v) ? v : [v];
  const max = attribute.name === 'members' ? Infinity : MAX_VALUES;
  if (list.length > max) throw invalidValue(`${what} has more than ${MAX_VALUES} values`);
  const values = list
    .map((item) => (attribute.type === 'complex' ? complexValue(attribute, item, what) : simpleValue(attribute, item, what)))
    .filter((x) => x !== undefined);
  checkPrimary(attribute, values);
  return values.length > 0 ? values : undefined;
}

/** RFC 7643 §2.4: "primary" true at most once per multi-valued attribute. */
export function checkPrimary(attribute: Attribute, values: readonly unknown[]): void {
  const primaries = values.filter((x) => isObject(x) && x.primary === true).length;
  if (primaries > 1) throw invalidValue(`${attribute.name} has more than one primary value`);
}
