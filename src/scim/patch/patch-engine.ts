/**
 * RFC 7644 §3.5.2 PATCH on a canonical resource document, pure: the operations apply to a copy, in order,
 * and the caller stores the result only when every operation succeeded (all or nothing). Tolerates what
 * Entra ID and Okta send: op names in any case, path-less add/replace whose keys are dotted, URN-prefixed
 * or value-filtered paths, `add` on an existing single value (it replaces it), a readOnly `id` inside a
 * path-less value (ignored), members removed by `{"path": "members", "value": [{"value": …}]}`.
 * @see https://www.rfc-editor.org/rfc/rfc7644#section-3.5.2
 */
import { invalidSyntax, invalidValue, mutability, noTarget } from '../errors.ts';
import type { Attribute, ResourceSchema } from '../registry/attributes.ts';
import { checkRequired } from '../resource/normalize.ts';
import { attributeValue, checkPrimary, complexValue, isObject, simpleValue, type Doc } from '../resource/values.ts';
import { equalities, matchesElement } from './evaluate.ts';
import { parsePatchPath, type PatchPath } from './path.ts';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  readonly op: string;
  readonly path?: string | undefined;
  readonly value?: unknown;
}

export function applyPatch(doc: Doc, operations: readonly PatchOperation[], schema: ResourceSchema): Doc {
  const next = structuredClone(doc);
  for (const [i, operation] of operations.entries()) {
    const op = operation.op.toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw invalidSyntax(`Operations[${i}]: unknown op "${operation.op.slice(0, 20)}"`);
    if (operation.path === undefined || operation.path === '') {
      if (op === 'remove') throw noTarget(`Operations[${i}]: remove needs a path`);
      applyPathless(next, op, operation.value, schema);
    } else {
      applyAt(next, op, parsePatchPath(operation.path, schema), operation.value, schema, false);
    }
  }
  checkRequired(next, schema);
  return next;
}

function applyPathless(doc: Doc, op: PatchOpName, value: unknown, schema: ResourceSchema): void {
  if (!isObject(value)) throw invalidValue('an add or replace without a path needs an object value');
  for (const [key, v] of Object.entries(value)) {
    if (key === 'schemas') continue;
    const extension = schema.extension(key);
    if (extension && isObject(v)) {
      for (const [k, w] of Object.entries(v)) applyAt(doc, op, parsePatchPath(`${extension}:${k}`, schema), w, schema, true);
      continue;
    }
    applyAt(doc, op, parsePatchPath(key, schema), v, schema, true);
  }
}

function containerOf(doc: Doc, schema: ResourceSchema, urn: string, create: boolean): Doc | undefined {
  if (urn === '' || urn === schema.core) return doc;
  const existing = doc[urn];
  if (isObject(existing)) return existing;
  if (!create) return undefined;
  const fresh: Doc = {};
  doc[urn] = fresh;
  return fresh;
}

function dropIfEmpty(doc: Doc, schema: ResourceSchema, urn: string): void {
  const c = doc[urn];
  if (urn !== '' && urn !== schema.core && isObject(c) && Object.keys(c).length === 0) unset(doc, urn);
}

function applyAt(doc: Doc, op: PatchOpName, path: PatchPath, value: unknown, schema: ResourceSchema, pathless: boolean): void {
  const attribute = path.attribute;
  if (!attribute) {
    // The whole extension: add/replace its attributes one by one, or remove all of them.
    if (op === 'remove') unset(doc, path.schema);
    else if (isObject(value)) for (const [k, v] of Object.entries(value)) applyAt(doc, op, parsePatchPath(`${path.schema}:${k}`, schema), v, schema, pathless);
    else throw invalidValue(`${path.schema} needs an object value`);
    return;
  }
  if (attribute.mutability === 'readOnly' || path.sub?.mutability === 'readOnly') {
    if (pathless) return;
    throw mutability(`${attribute.name}${path.sub ? `.${path.sub.name}` : ''} is read-only`);
  }
  const container = containerOf(doc, schema, path.schema, op !== 'remove');
  if (!container) return;
  if (attribute.multiValued) applyMulti(container, op, attribute, path, value);
  else applySingle(container, op, attribute, path.sub, value);
  dropIfEmpty(doc, schema, path.schema);
}

function applySingle(container: Doc, op: PatchOpName, attribute: Attribute, sub: Attribute | undefined, value: unknown): void {
  if (op === 'remove') {
    if (!sub) unset(container, attribute.name);
    else if (isObject(container[attribute.name])) {
      unset((container[attribute.name] as Doc), sub.name);
      if (Object.keys(container[attribute.name] as Doc).length === 0) unset(container, attribute.name);
    }
    return;
  }
  if (sub) {
    const v = simpleValue(sub, value, `${attribute.name}.${sub.name}`);
    const current = isObject(container[attribute.name]) ? (container[attribute.name] as Doc) : {};
    if (v === undefined) unset(current, sub.name);
    else current[sub.name] = v;
    if (Object.keys(current).length > 0) container[attribute.name] = current;
    else unset(container, attribute.name);
    return;
  }
  if (attribute.type === 'complex') {
    // add and replace on a complex attribute both set the given sub-attributes and keep the others.
    const v = complexValue(attribute, value, attribute.name);
    if (v === undefined) unset(container, attribute.name);
    else {
      const existing = container[attribute.name];
      container[attribute.name] = { ...(isObject(existing) ? existing : {}), ...v };
    }
    return;
  }
  const v = simpleValue(attribute, value, attribute.name);
  if (v === undefined) unset(container, attribute.name);
  else container[attribute.name] = v;
}

function sameElement(attribute: Attribute, a: unknown, b: unknown): boolean {
  if (isObject(a) && isObject(b) && attribute.sub.has('value')) {
    const caseExact = attribute.sub.get('value')?.caseExact ?? false;
    const norm = (v: unknown): string => (caseExact ? String(v) : String(v).toLowerCase());
    return a.value !== undefined && b.value !== undefined && norm(a.value) === norm(b.value);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

function applyMulti(container: Doc, op: PatchOpName, attribute: Attribute, path: PatchPath, value: unknown): void {
  const current = Array.isArray(container[attribute.name]) ? (container[attribute.name] as unknown[]) : [];
  const primaryBefore = new Set(current.filter((e) => isObject(e) && e.primary === true));
  let next: unknown[];
  if (path.filter) next = applyFiltered(current, op, attribute, path, value);
  else if (path.sub) next = applyToAll(current, op, attribute, path.sub, value);
  else if (op === 'remove') {
    // Without a value the whole attribute goes; with one (Entra: members by value) only those elements.
    const gone = value === undefined || value === null ? undefined : (attributeValue(attribute, value) as unknown[] | undefined) ?? [];
    next = gone ? current.filter((e) => !gone.some((g) => sameElement(attribute, e, g))) : [];
  } else {
    const values = (attributeValue(attribute, value) as unknown[] | undefined) ?? [];
    if (op === 'replace') next = values;
    else {
      next = [...current];
      for (const v of values) {
        const i = next.findIndex((e) => sameElement(attribute, e, v));
        if (i < 0) next.push(v);
        else next[i] = isObject(next[i]) && isObject(v) ? { ...next[i], ...v } : v;
      }
    }
  }
  enforceSinglePrimary(attribute, next, primaryBefore);
  if (next.length > 0) container[attribute.name] = next;
  else unset(container, attribute.name);
}

function applyToAll(current: unknown[], op: PatchOpName, attribute: Attribute, sub: Attribute, value: unknown): unknown[] {
  const elements = current.filter(isObject).map((e) => ({ ...e }));
  if (op === 'remove') return elements.map((e) => withoutKey(e, sub.name)).filter(hasContent);
  const v = simpleValue(sub, value, `${attribute.name}.${sub.name}`);
  if (elements.length === 0) return v === undefined ? [] : [{ [sub.name]: v }];
  return elements.map((e) => (v === undefined ? withoutKey(e, sub.name) : { ...e, [sub.name]: v })).filter(hasContent);
}

function applyFiltered(current: unknown[], op: PatchOpName, attribute: Attribute, path: PatchPath, value: unknown): unknown[] {
  const filter = path.filter;
  if (!filter) return current;
  const matches = (e: unknown): boolean => isObject(e) && matchesElement(filter, e, attribute);
  if (op === 'remove') {
    // Removing what is already gone is not an error: provisioning clients repeat removals.
    if (!path.sub) return current.filter((e) => !matches(e));
    const sub = path.sub;
    return current.map((e) => (matches(e) && isObject(e) ? withoutKey(e, sub.name) : e)).filter(hasContent);
  }
  const patch: Doc | undefined = path.sub
    ? (() => {
        const v = simpleValue(path.sub, value, `${attribute.name}.${path.sub.name}`);
        return v === undefined ? undefined : { [path.sub.name]: v };
      })()
    : complexValue(attribute, value, attribute.name);
  if (!current.some(matches)) {
    // Entra replaces `emails[type eq "work"].value` on users that have no work email yet: make the element.
    const seed = equalities(filter, attribute);
    if (!seed) throw noTarget(`no ${attribute.name} value matches the filter`);
    if (!patch) return current;
    const created = complexValue(attribute, { ...seed, ...patch }, attribute.name);
    return created ? [...current, created] : current;
  }
  return current
    .map((e) => {
      if (!matches(e) || !isObject(e)) return e;
      if (!patch) return path.sub ? withoutKey(e, path.sub.name) : undefined;
      return op === 'replace' && !path.sub ? { ...pick(e, filter ? Object.keys(equalities(filter, attribute) ?? {}) : []), ...patch } : { ...e, ...patch };
    })
    .filter((e) => e !== undefined)
    .filter(hasContent);
}

/** Removes a key chosen by the registry (never by the client) from a document. */
function unset(doc: Doc, key: string): void {
  Reflect.deleteProperty(doc, key);
}

function pick(e: Doc, keys: string[]): Doc {
  return Object.fromEntries(Object.entries(e).filter(([k]) => keys.includes(k)));
}

function withoutKey(e: Doc, key: string): Doc {
  const { [key]: _dropped, ...rest } = e;
  return rest;
}

/** An element left with nothing but labels (`type`, `primary`) has no value any more. */
function hasContent(e: unknown): boolean {
  return !isObject(e) || Object.keys(e).some((k) => k !== 'type' && k !== 'primary');
}

/**
 * RFC 7644 §3.5.2: setting "primary" true on one value sets it false on the others. A value that was
 * primary before loses to one made primary by this operation; two new primaries are an error.
 */
function enforceSinglePrimary(attribute: Attribute, values: unknown[], before: ReadonlySet<unknown>): void {
  const primaries = values.filter((e): e is Doc => isObject(e) && e.primary === true);
  if (primaries.length <= 1) return;
  const fresh = primaries.filter((e) => !before.has(e));
  const keep = fresh.length > 0 ? fresh[fresh.length - 1] : primaries[primaries.length - 1];
  for (const e of primaries) if (e !== keep) e.primary = false;
  checkPrimary(attribute, values);
}
