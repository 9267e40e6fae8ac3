/**
 * Evaluates a value filter (the part in brackets of a PATCH path) against one element of a multi-valued
 * attribute, with the same semantics as the SQL compiler: case-insensitive unless caseExact, a missing
 * sub-attribute is "not equal".
 */
import { invalidFilter } from '../errors.ts';
import type { CompValue, Filter } from '../filter/ast.ts';
import type { Attribute } from '../registry/attributes.ts';
import type { Doc } from '../resource/values.ts';

export function matchesElement(filter: Filter, element: Doc, attribute: Attribute): boolean {
  switch (filter.kind) {
    case 'and':
      return matchesElement(filter.left, element, attribute) && matchesElement(filter.right, element, attribute);
    case 'or':
      return matchesElement(filter.left, element, attribute) || matchesElement(filter.right, element, attribute);
    case 'not':
      return !matchesElement(filter.filter, element, attribute);
    case 'valuePath':
      throw invalidFilter('value paths cannot nest');
    case 'present': {
      const v = element[subOf(attribute, filter.path).name];
      return v !== undefined && v !== null && v !== '';
    }
    case 'compare': {
      const sub = subOf(attribute, filter.path);
      return compare(element[sub.name], filter.op, filter.value, sub.caseExact);
    }
  }
}

function subOf(attribute: Attribute, path: string): Attribute {
  const sub = attribute.sub.get(path.toLowerCase());
  if (!sub) throw invalidFilter(`"${path.slice(0, 60)}" is not a sub-attribute of ${attribute.name}`);
  return sub;
}

function compare(actual: unknown, op: string, expected: CompValue, caseExact: boolean): boolean {
  if (expected === null) return op === 'eq' ? actual === undefined : op === 'ne' ? actual !== undefined : false;
  if (typeof actual === 'boolean' || typeof expected === 'boolean') {
    const e = typeof expected === 'string' ? expected.toLowerCase() === 'true' : expected;
    if (op === 'eq') return actual === e;
    if (op === 'ne') return actual !== e;
    return false;
  }
  if (actual === undefined || actual === null) return op === 'ne';
  const norm = (v: unknown): string => (caseExact ? String(v) : String(v).toLowerCase());
  const a = norm(actual);
  const b = norm(expected);
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return false;
  }
}

/**
 * The sub-attribute values a filter pins down when it is only `eq` comparisons joined by `and`
 * (`type eq "work"`): what a new element gets when a PATCH targets an element that does not exist yet.
 */
export function equalities(filter: Filter, attribute: Attribute): Doc | undefined {
  if (filter.kind === 'compare' && filter.op === 'eq' && filter.value !== null) {
    const sub = attribute.sub.get(filter.path.toLowerCase());
    return sub ? { [sub.name]: filter.value } : undefined;
  }
  if (filter.kind === 'and') {
    const l = equalities(filter.left, attribute);
    const r = equalities(filter.right, attribute);
    return l && r ? { ...l, ...r } : undefined;
  }
  return undefined;
}
