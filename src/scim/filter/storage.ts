/**
 * Where each SCIM attribute lives in PostgreSQL, as SQL fragments for filter/compile-sql.ts. Attributes
 * with a column of their own use it (so `userName eq` meets the (tenant_id, lower(username)) index);
 * every other attribute is read from the `scim` jsonb column under its canonical name, extension
 * attributes under `enterprise`. Only fragments written here reach SQL text; values are always bound.
 * Queries alias `users` as `u` and `groups` as `g`.
 */
import { sql, type RawBuilder } from 'kysely';
import { isUuid } from '../../lib/ids.ts';
import type { Attribute, ResolvedPath } from '../registry/attributes.ts';
import { URN, type ResourceKind } from '../registry/urns.ts';

export type FieldType = 'text' | 'bool' | 'time';

/** A single value to compare: its SQL, how it compares, and how to test that it is present. */
export interface Field {
  readonly type: FieldType;
  readonly sql: RawBuilder<unknown>;
  readonly caseExact: boolean;
  readonly present: RawBuilder<boolean>;
  /** An index-friendly equality (uuid columns compared as uuid), used for `eq` when given. */
  readonly equals?: (value: string) => RawBuilder<boolean>;
}

/** The elements of a multi-valued attribute: a field per sub-attribute, and EXISTS around a condition. */
export interface ElementScope {
  field(sub: Attribute): Field | undefined;
  exists(condition: RawBuilder<boolean> | undefined): RawBuilder<boolean>;
}

export interface Storage {
  /** A single-valued attribute or a sub-attribute of a single-valued complex one. */
  scalar(path: ResolvedPath): Field | undefined;
  /** A multi-valued complex attribute. */
  elements(path: ResolvedPath): ElementScope | undefined;
  /** The ORDER BY expression for `sortBy`, if the attribute can be sorted. */
  sortKey(path: ResolvedPath): RawBuilder<unknown> | undefined;
}

const typeOf = (a: Attribute): FieldType | undefined =>
  a.type === 'boolean' ? 'bool' : a.type === 'dateTime' ? 'time' : a.type === 'complex' ? undefined : 'text';

/** A uuid column: `eq` compares as uuid (index), other operators as text; a non-uuid value equals nothing. */
function uuidColumn(column: RawBuilder<unknown>): Field {
  return {
    type: 'text',
    sql: sql`${column}::text`,
    caseExact: false,
    present: sql<boolean>`(${column} is not null)`,
    equals: (value) => (isUuid(value) ? sql<boolean>`(${column} = ${value}::uuid)` : sql<boolean>`false`),
  };
}

function column(expr: RawBuilder<unknown>, type: FieldType, caseExact: boolean): Field {
  const present = type === 'text' ? sql<boolean>`(${expr} is not null and ${expr} <> '')` : sql<boolean>`(${expr} is not null)`;
  return { type, sql: expr, caseExact, present };
}

/** A value inside jsonb (`doc` is a jsonb SQL expression, `key` a registry name, never user input). */
function jsonField(doc: RawBuilder<unknown>, key: string, attribute: Attribute): Field | undefined {
  const type = typeOf(attribute);
  if (!type) return undefined;
  const k = sql.lit(key);
  if (type === 'bool') {
    return { type, sql: sql`coalesce((${doc}->>${k}) = 'true', false)`, caseExact: true, present: sql<boolean>`(${doc} ? ${k})` };
  }
  const text = sql`(${doc}->>${k})`;
  return column(type === 'time' ? sql`(${text})::timestamptz` : text, type, attribute.caseExact);
}

function jsonArrayScope(array: RawBuilder<unknown>): ElementScope {
  const element = sql`e.v`;
  return {
    field: (sub) => jsonField(element, sub.name, sub),
    exists: (condition) =>
      condition
        ? sql<boolean>`exists (select 1 from jsonb_array_elements(${array}) as e(v) where ${condition})`
        : sql<boolean>`(jsonb_array_length(${array}) > 0)`,
  };
}

function common(alias: 'u' | 'g', kind: ResourceKind, path: ResolvedPath): Field | undefined {
  const a = sql.raw(alias);
  const name = path.attribute?.name;
  if (name === 'id' && !path.sub) return uuidColumn(sql`${a}.id`);
  if (name === 'externalId' && !path.sub) return column(sql`${a}.external_id`, 'text', true);
  if (name === 'meta') {
    switch (path.sub?.name) {
      case 'created':
        return column(sql`${a}.created_at`, 'time', true);
      case 'lastModified':
        return column(sql`${a}.updated_at`, 'time', true);
      case 'resourceType':
        return column(sql.lit(kind), 'text', true);
      case 'version':
        return column(sql`('W/"' || ${a}.version || '"')`, 'text', true);
      default:
        return undefined;
    }
  }
  return undefined;
}

const ENTERPRISE_KEY = 'enterprise';

/** The key under which an attribute of `schema` is kept in the `scim` jsonb document. */
function documentOf(alias: 'u' | 'g', schema: string): RawBuilder<unknown> {
  const a = sql.raw(alias);
  return schema === URN.enterprise ? sql`coalesce(${a}.scim->${sql.lit(ENTERPRISE_KEY)}, '{}'::jsonb)` : sql`${a}.scim`;
}

export const userStorage: Storage = {
  scalar(path) {
    const fromCommon = common('u', 'User', path);
    if (fromCommon || path.schema === '') return fromCommon;
    const attribute = path.attribute;
    if (!attribute || attribute.multiValued || attribute.returned === 'never') return undefined;
    if (path.schema === URN.user) {
      if (attribute.name === 'userName') return column(sql`u.username`, 'text', false);
      if (attribute.name === 'active') return column(sql`u.active`, 'bool', true);
      if (attribute.name === 'name' && path.sub?.name === 'givenName') return column(sql`u.given_name`, 'text', false);
      if (attribute.name === 'name' && path.sub?.name === 'familyName') return column(sql`u.family_name`, 'text', false);
    }
    const doc = documentOf('u', path.schema);
    if (attribute.type !== 'complex') return jsonField(doc, attribute.name, attribute);
    if (!path.sub || path.sub.mutability === 'readOnly') return undefined;
    return jsonField(sql`coalesce(${doc}->${sql.lit(attribute.name)}, '{}'::jsonb)`, path.sub.name, path.sub);
  },
  elements(path) {
    const attribute = path.attribute;
    if (!attribute?.multiValued || path.schema !== URN.user) return undefined;
    if (attribute.name === 'groups') return userGroupsScope;
    if (attribute.name === 'emails') {
      // Users made through the admin API have only the email column: it is their one (primary, work) email.
      return jsonArrayScope(sql`(case when u.scim ? 'emails' then u.scim->'emails'
        when u.email is not null then jsonb_build_array(jsonb_build_object('value', u.email, 'type', 'work', 'primary', true))
        else '[]'::jsonb end)`);
    }
    return jsonArrayScope(sql`coalesce(u.scim->${sql.lit(attribute.name)}, '[]'::jsonb)`);
  },
  sortKey(path) {
    if (path.attribute?.name === 'emails' && path.schema === URN.user && (!path.sub || path.sub.name === 'value')) return sql`lower(u.email)`;
    const field = this.scalar(path);
    if (!field) return undefined;
    return field.type === 'text' && !field.caseExact ? sql`lower(${field.sql})` : field.sql;
  },
};

/** A user's groups (direct memberships), from group_members; `value` is the group id, `display` its name. */
const userGroupsScope: ElementScope = {
  field(sub) {
    if (sub.name === 'value') return uuidColumn(sql`gm.group_id`);
    if (sub.name === 'display') return column(sql`gr.name`, 'text', false);
    if (sub.name === 'type') return column(sql`'direct'`, 'text', true);
    return undefined;
  },
  exists: (condition) => sql<boolean>`exists (select 1 from group_members gm
      join groups gr on gr.tenant_id = gm.tenant_id and gr.id = gm.group_id
     where gm.tenant_id = u.tenant_id and gm.member_kind = 'user' and gm.member_id = u.id
       and ${condition ?? sql`true`})`,
};

/** A group's members from group_members: `value` the member id, `type` User or Group. */
const membersScope: ElementScope = {
  field(sub) {
    if (sub.name === 'value') return uuidColumn(sql`m.member_id`);
    if (sub.name === 'type') return column(sql`(case m.member_kind when 'user' then 'User' else 'Group' end)`, 'text', true);
    return undefined;
  },
  exists: (condition) => sql<boolean>`exists (select 1 from group_members m
     where m.tenant_id = g.tenant_id and m.group_id = g.id and ${condition ?? sql`true`})`,
};

export const groupStorage: Storage = {
  scalar(path) {
    const fromCommon = common('g', 'Group', path);
    if (fromCommon || path.schema === '') return fromCommon;
    if (path.attribute?.name === 'displayName') return column(sql`g.name`, 'text', false);
    return undefined;
  },
  elements(path) {
    return path.attribute?.name === 'members' ? membersScope : undefined;
  },
  sortKey(path) {
    const field = this.scalar(path);
    if (!field) return undefined;
    return field.type === 'text' && !field.caseExact ? sql`lower(${field.sql})` : field.sql;
  },
};
