/**
 * PATCH paths (RFC 7644 §3.5.2): `attr`, `attr.sub`, `urn:…:attr[.sub]`, a bare extension URN, and value
 * paths `attr[filter]` optionally followed by `.sub` (`emails[type eq "work"].value`).
 */
import { invalidPath } from '../errors.ts';
import type { Filter } from '../filter/ast.ts';
import { parseFilter } from '../filter/parser.ts';
import type { Attribute, ResourceSchema } from '../registry/attributes.ts';

export interface PatchPath {
  readonly schema: string;
  /** Undefined: the path is a whole extension schema. */
  readonly attribute?: Attribute;
  readonly sub?: Attribute;
  readonly filter?: Filter;
}

/** Index of the `]` closing the `[` at `open`, skipping quoted strings. */
function closing(path: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < path.length; i++) {
    const c = path[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ']') return i;
  }
  return -1;
}

export function parsePatchPath(path: string, schema: ResourceSchema): PatchPath {
  if (path.length === 0 || path.length > 1024) throw invalidPath('the path is empty or too long');
  const open = path.indexOf('[');
  if (open < 0) {
    const resolved = schema.resolve(path);
    if (!resolved) throw invalidPath(`unknown attribute path "${path.slice(0, 120)}"`);
    return resolved;
  }
  const close = closing(path, open);
  if (close < 0) throw invalidPath('unbalanced "[" in the path');
  const resolved = schema.resolve(path.slice(0, open));
  const attribute = resolved?.attribute;
  if (!resolved || !attribute || resolved.sub || attribute.type !== 'complex') {
    throw invalidPath(`"${path.slice(0, open)}" is not a complex attribute that a value filter can select in`);
  }
  const filter = parseFilter(path.slice(open + 1, close));
  const rest = path.slice(close + 1);
  if (rest === '') return { schema: resolved.schema, attribute, filter };
  const sub = rest.startsWith('.') ? attribute.sub.get(rest.slice(1).toLowerCase()) : undefined;
  if (!sub) throw invalidPath(`"${rest.slice(0, 60)}" is not a sub-attribute of ${attribute.name}`);
  return { schema: resolved.schema, attribute, filter, sub };
}
