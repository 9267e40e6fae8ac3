/**
 * Compiles a parsed filter to a parameterised SQL condition (a kysely RawBuilder): attribute names are
 * resolved through the registry and mapped by filter/storage.ts; every value is a bound parameter, never
 * SQL text. Anything the registry or storage cannot serve is an `invalidFilter` error, so a filter is
 * never silently dropped. SQL's unknown (a missing attribute) counts as false: `not` compiles to
 * `is not true`, and `ne` matches a missing attribute. Positive comparisons stay bare, so that
 * `userName eq "…"` meets the (tenant_id, lower(username)) index.
 * @see https://www.rfc-editor.org/rfc/rfc7644#section-3.4.2.2
 */
import { sql, type RawBuilder } from 'kysely';
import { invalidFilter } from '../errors.ts';
import type { Attribute, ResourceSchema } from '../registry/attributes.ts';
import type { CompareOp, CompValue, Filter } from './ast.ts';
import type { ElementScope, Field, Storage } from './storage.ts';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

interface ElementContext {
  readonly attribute: Attribute;
  readonly scope: ElementScope;
}

export function compileFilter(filter: Filter, schema: ResourceSchema, storage: Storage): RawBuilder<boolean> {
  return node(filter, schema, storage, undefined);
}

function node(f: Filter, schema: ResourceSchema, storage: Storage, element: ElementContext | undefined): RawBuilder<boolean> {
  switch (f.kind) {
    case 'and':
      return sql<boolean>`(${node(f.left, schema, storage, element)} and ${node(f.right, schema, storage, element)})`;
    case 'or':
      return sql<boolean>`(${node(f.left, schema, storage, element)} or ${node(f.right, schema, storage, element)})`;
    case 'not':
      return sql<boolean>`((${node(f.filter, schema, storage, element)}) is not true)`;
    case 'valuePath': {
      if (element) throw invalidFilter('value paths cannot nest');
      const resolved = schema.resolve(f.path);
      const attribute = resolved?.attribute;
      if (!resolved || !attribute || resolved.sub || attribute.type !== 'complex') {
        throw invalidFilter(`"${f.path}" is not a complex attribute that a value path can select in`);
      }
      if (attribute.multiValued) {
        const scope = storage.elements(resolved);
        if (!scope) throw invalidFilter(`"${attribute.name}" cannot be filtered`);
        return scope.exists(node(f.filter, schema, storage, { attribute, scope }));
      }
      // A single-valued complex attribute (name, manager): its sub-attributes are plain fields.
      const single: ElementScope = {
        field: (sub) => storage.scalar({ ...resolved, sub }),
        exists: (condition) => condition ?? sql<boolean>`true`,
      };
      return node(f.filter, schema, storage, { attribute, scope: single });
    }
    case 'present':
    case 'compare':
      return element ? inElement(f, element) : atResource(f, schema, storage);
  }
}

type Leaf = Extract<Filter, { kind: 'present' | 'compare' }>;

function inElement(f: Leaf, element: ElementContext): RawBuilder<boolean> {
  const sub = element.attribute.sub.get(f.path.toLowerCase());
  const field = sub ? element.scope.field(sub) : undefined;
  if (!field) throw invalidFilter(`"${f.path}" is not a filterable sub-attribute of ${element.attribute.name}`);
  return leaf(f, field);
}

function atResource(f: Leaf, schema: ResourceSchema, storage: Storage): RawBuilder<boolean> {
  const resolved = schema.resolve(f.path);
  const attribute = resolved?.attribute;
  if (!resolved || !attribute) throw invalidFilter(`unknown attribute "${f.path}"`);
  if (attribute.returned === 'never' || resolved.sub?.returned === 'never') throw invalidFilter(`"${f.path}" cannot be filtered`);
  if (attribute.multiValued) {
    const scope = storage.elements(resolved);
    if (!scope) throw invalidFilter(`"${f.path}" cannot be filtered`);
    if (f.kind === 'present' && !resolved.sub) return scope.exists(undefined);
    // `emails co "x"` compares the elements' `value` (RFC 7644 §3.4.2.2, multi-valued attributes).
    const sub = resolved.sub ?? attribute.sub.get('value');
    const field = sub ? scope.field(sub) : undefined;
    if (!field) throw invalidFilter(`"${f.path}" cannot be filtered`);
    return scope.exists(leaf(f, field));
  }
  if (attribute.type === 'complex' && !resolved.sub) {
    // `manager eq "id"` means manager.value; `name pr` means any name part is present.
    const value = attribute.sub.get('value');
    if (value) return leaf(f, fieldOf(storage, { ...resolved, sub: value }, f.path));
    if (f.kind !== 'present') throw invalidFilter(`"${f.path}" is complex: compare one of its sub-attributes`);
    const parts = [...attribute.sub.values()].map((sub) => storage.scalar({ ...resolved, sub })).filter((x): x is Field => x !== undefined);
    if (parts.length === 0) throw invalidFilter(`"${f.path}" cannot be filtered`);
    return sql<boolean>`(${sql.join(parts.map((p) => p.present), sql` or `)})`;
  }
  return leaf(f, fieldOf(storage, resolved, f.path));
}

function fieldOf(storage: Storage, resolved: Parameters<Storage['scalar']>[0], path: string): Field {
  const field = storage.scalar(resolved);
  if (!field) throw invalidFilter(`"${path}" cannot be filtered`);
  return field;
}

function leaf(f: Leaf, field: Field): RawBuilder<boolean> {
  if (f.kind === 'present') return field.present;
  return compare(field, f.op, f.value, f.path);
}

function compare(field: Field, op: CompareOp, value: CompValue, path: string): RawBuilder<boolean> {
  if (value === null) {
    if (op === 'eq') return sql<boolean>`(not ${field.present})`;
    if (op === 'ne') return field.present;
    throw invalidFilter(`"${op}" cannot compare with null`);
  }
  switch (field.type) {
    case 'bool':
      return compareBool(field, op, value, path);
    case 'time':
      return compareTime(field, op, value, path);
    case 'text':
      return compareText(field, op, value, path);
  }
}

function compareBool(field: Field, op: CompareOp, value: Exclude<CompValue, null>, path: string): RawBuilder<boolean> {
  const b = typeof value === 'boolean' ? value : typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : undefined;
  if (b === undefined) throw invalidFilter(`"${path}" is a boolean: compare it with true or false`);
  if (op === 'eq') return sql<boolean>`(${field.sql} = ${b})`;
  if (op === 'ne') return sql<boolean>`((${field.sql} = ${b}) is not true)`;
  throw invalidFilter(`"${path}" is a boolean: only eq and ne apply`);
}

function compareTime(field: Field, op: CompareOp, value: Exclude<CompValue, null>, path: string): RawBuilder<boolean> {
  if (typeof value !== 'string' || !ISO_DATE.test(value) || Number.isNaN(Date.parse(value))) {
    throw invalidFilter(`"${path}" is a dateTime: compare it with an xsd:dateTime string`);
  }
  const v = sql`${value}::timestamptz`;
  switch (op) {
    case 'eq':
      return sql<boolean>`(${field.sql} = ${v})`;
    case 'ne':
      return sql<boolean>`((${field.sql} = ${v}) is not true)`;
    case 'gt':
      return sql<boolean>`(${field.sql} > ${v})`;
    case 'ge':
      return sql<boolean>`(${field.sql} >= ${v})`;
    case 'lt':
      return sql<boolean>`(${field.sql} < ${v})`;
    case 'le':
      return sql<boolean>`(${field.sql} <= ${v})`;
    default:
      throw invalidFilter(`"${op}" does not apply to the dateTime "${path}"`);
  }
}

function compareText(field: Field, op: CompareOp, value: Exclude<CompValue, null>, path: string): RawBuilder<boolean> {
  if (typeof value === 'boolean') throw invalidFilter(`"${path}" is a string: compare it with a string`);
  const text = String(value);
  const l = field.caseExact ? field.sql : sql`lower(${field.sql})`;
  const r = field.caseExact ? sql`${text}::text` : sql`lower(${text}::text)`;
  if (op === 'eq' && field.equals) return field.equals(text);
  switch (op) {
    case 'eq':
      return sql<boolean>`(${l} = ${r})`;
    case 'ne':
      return sql<boolean>`((${l} = ${r}) is not true)`;
    case 'co':
      return sql<boolean>`(strpos(${l}, ${r}) > 0)`;
    case 'sw':
      return sql<boolean>`(starts_with(${l}, ${r}))`;
    case 'ew':
      return sql<boolean>`(right(${l}, length(${r})) = ${r})`;
    case 'gt':
      return sql<boolean>`(${l} > ${r})`;
    case 'ge':
      return sql<boolean>`(${l} >= ${r})`;
    case 'lt':
      return sql<boolean>`(${l} < ${r})`;
    case 'le':
      return sql<boolean>`(${l} <= ${r})`;
  }
}
