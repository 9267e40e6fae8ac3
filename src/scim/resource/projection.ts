/**
 * `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes a response carries.
 * Names resolve through the registry (case-insensitive, URN prefixes, `attr.sub`); unknown ones are an
 * invalidValue error. `id` and `schemas` are always returned ("returned": "always").
 */
import { invalidValue } from '../errors.ts';
import type { ResourceSchema } from '../registry/attributes.ts';
import { isObject, type Doc } from './values.ts';

interface Selected {
  /** Container key: '' for core and common attributes, else the extension URN. */
  readonly container: string;
  readonly name: string;
  readonly sub?: string;
}

export interface Projection {
  /** Whether the response needs this top-level core attribute (lets queries skip loading groups/members). */
  wants(name: string): boolean;
  apply(resource: Doc): Doc;
}

function parseList(raw: string | undefined, schema: ResourceSchema): Selected[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const name = part.trim();
    const extension = schema.extension(name);
    if (extension) return { container: extension, name: '*' };
    const resolved = schema.resolve(name);
    if (!resolved?.attribute) throw invalidValue(`unknown attribute "${name.slice(0, 100)}"`);
    const container = resolved.schema === '' || resolved.schema === schema.core ? '' : resolved.schema;
    return { container, name: resolved.attribute.name, ...(resolved.sub && { sub: resolved.sub.name }) };
  });
}

const ALWAYS = new Set(['id', 'schemas']);

export function projection(schema: ResourceSchema, attributes: string | undefined, excluded: string | undefined): Projection {
  const include = parseList(attributes, schema);
  const exclude = include.length > 0 ? [] : parseList(excluded, schema);
  return {
    wants(name) {
      if (include.length > 0) return include.some((s) => s.container === '' && s.name === name);
      return !exclude.some((s) => s.container === '' && s.name === name && s.sub === undefined);
    },
    apply(resource) {
      if (include.length === 0 && exclude.length === 0) return resource;
      const out: Doc = {};
      for (const [key, value] of Object.entries(resource)) {
        if (ALWAYS.has(key)) out[key] = value;
        else if (schema.extension(key)) {
          const kept = filterContainer(value, include.filter((s) => s.container === key), exclude.filter((s) => s.container === key), include.length > 0);
          if (kept !== undefined) out[key] = kept;
        } else {
          const kept = filterAttribute(key, value, include.filter((s) => s.container === ''), exclude.filter((s) => s.container === ''), include.length > 0);
          if (kept !== undefined) out[key] = kept;
        }
      }
      return out;
    },
  };
}

function filterContainer(value: unknown, include: Selected[], exclude: Selected[], including: boolean): unknown {
  if (!isObject(value)) return undefined;
  if (including && include.some((s) => s.name === '*')) return value;
  if (!including && exclude.some((s) => s.name === '*')) return undefined;
  const out: Doc = {};
  for (const [key, v] of Object.entries(value)) {
    const kept = filterAttribute(key, v, include, exclude, including);
    if (kept !== undefined) out[key] = kept;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function filterAttribute(key: string, value: unknown, include: Selected[], exclude: Selected[], including: boolean): unknown {
  const mine = (including ? include : exclude).filter((s) => s.name === key);
  if (including) {
    if (mine.length === 0) return undefined;
    if (mine.some((s) => s.sub === undefined)) return value;
    return pickSubs(value, mine.map((s) => s.sub ?? ''), true);
  }
  if (mine.some((s) => s.sub === undefined)) return undefined;
  return mine.length === 0 ? value : pickSubs(value, mine.map((s) => s.sub ?? ''), false);
}

function pickSubs(value: unknown, subs: string[], keep: boolean): unknown {
  const one = (v: unknown): Doc | undefined => {
    if (!isObject(v)) return undefined;
    const out = Object.fromEntries(Object.entries(v).filter(([k]) => subs.includes(k) === keep));
    return Object.keys(out).length > 0 ? out : undefined;
  };
  if (Array.isArray(value)) {
    const list = value.map(one).filter((x) => x !== undefined);
    return list.length > 0 ? list : undefined;
  }
  return one(value);
}
