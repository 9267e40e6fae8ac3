/** The JSON a client receives for a User or Group: the document plus schemas, id, groups/members and meta. */
import type { GroupRow, UserRow } from '../../db/schema.ts';
import { URN } from '../registry/urns.ts';
import { groupDocument } from './group-mapping.ts';
import { userDocument } from './user-mapping.ts';
import { isObject, type Doc } from './values.ts';

export interface GroupRef {
  readonly id: string;
  readonly name: string;
}

export interface MemberView {
  readonly kind: 'user' | 'group';
  readonly id: string;
  readonly display: string | null;
}

/** RFC 7644 §3.14: meta.version is a weak ETag; this is also the ETag header. */
export function etagOf(version: string | number): string {
  return `W/"${String(version)}"`;
}

function meta(resourceType: 'User' | 'Group', row: { id: string; created_at: Date; updated_at: Date; version: string | number }, base: string): Doc {
  return {
    resourceType,
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location: `${base}/${resourceType}s/${row.id}`,
    version: etagOf(row.version),
  };
}

export function renderUser(row: UserRow, groups: readonly GroupRef[] | undefined, base: string): Doc {
  const doc = userDocument(row);
  const enterprise = doc[URN.enterprise];
  if (isObject(enterprise) && isObject(enterprise.manager) && typeof enterprise.manager.value === 'string') {
    enterprise.manager = { ...enterprise.manager, $ref: `${base}/Users/${enterprise.manager.value}` };
  }
  return {
    schemas: isObject(enterprise) ? [URN.user, URN.enterprise] : [URN.user],
    id: row.id,
    ...doc,
    ...(groups && groups.length > 0 && {
      groups: groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${g.id}`, display: g.name, type: 'direct' })),
    }),
    meta: meta('User', row, base),
  };
}

export function renderGroup(row: GroupRow, members: readonly MemberView[] | undefined, base: string): Doc {
  const doc = groupDocument(row, undefined);
  return {
    schemas: [URN.group],
    id: row.id,
    ...doc,
    ...(members && {
      members: members.map((m) => ({
        value: m.id,
        $ref: `${base}/${m.kind === 'user' ? 'Users' : 'Groups'}/${m.id}`,
        type: m.kind === 'user' ? 'User' : 'Group',
        ...(m.display !== null && { display: m.display }),
      })),
    }),
    meta: meta('Group', row, base),
  };
}
