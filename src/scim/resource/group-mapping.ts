/** A SCIM Group ↔ the identity core's provisioned group and its members (users and nested groups). */
import type { GroupRow } from '../../db/schema.ts';
import type { MemberRef, ProvisionedGroup } from '../../identity/provisioning-repository.ts';
import type { MemberInput } from '../../identity/provisioning-service.ts';
import { isObject, type Doc } from './values.ts';

export function groupDocument(row: GroupRow, members: readonly MemberRef[] | undefined): Doc {
  const doc: Doc = { ...row.scim, displayName: row.name };
  if (row.external_id !== null) doc.externalId = row.external_id;
  if (members && members.length > 0) doc.members = members.map((m) => ({ value: m.id, type: m.kind === 'user' ? 'User' : 'Group' }));
  return doc;
}

export function toProvisionedGroup(doc: Doc): ProvisionedGroup {
  const { displayName, externalId, members: _members, ...attributes } = doc;
  return { name: String(displayName), externalId: typeof externalId === 'string' && externalId !== '' ? externalId : null, attributes };
}

export function membersOf(doc: Doc): MemberInput[] {
  const list = Array.isArray(doc.members) ? doc.members.filter(isObject) : [];
  return list.map((m) => {
    const type = typeof m.type === 'string' ? m.type.toLowerCase() : undefined;
    return { id: String(m.value), kind: type === 'user' ? 'user' : type === 'group' ? 'group' : undefined };
  });
}
