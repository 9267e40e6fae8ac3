/**
 * A SCIM User ↔ the identity core's provisioned user. Column-backed attributes (userName, active,
 * externalId, name.givenName, name.familyName, the primary email) live in their columns; every other
 * attribute stays in the `scim` jsonb under its canonical name, the enterprise extension under `enterprise`.
 */
import type { UserRow } from '../../db/schema.ts';
import type { ProvisionedUser } from '../../identity/provisioning-repository.ts';
import { URN } from '../registry/urns.ts';
import { isObject, type Doc } from './values.ts';

const ENTERPRISE = 'enterprise';

/** The writable SCIM document of a stored user (readOnly attributes and the password excluded). */
export function userDocument(row: UserRow): Doc {
  const { [ENTERPRISE]: enterprise, name, emails, ...rest } = row.scim;
  const doc: Doc = { userName: row.username, active: row.active, ...rest };
  if (row.external_id !== null) doc.externalId = row.external_id;
  const fullName: Doc = { ...(isObject(name) ? name : {}) };
  if (row.given_name !== null) fullName.givenName = row.given_name;
  if (row.family_name !== null) fullName.familyName = row.family_name;
  if (Object.keys(fullName).length > 0) doc.name = fullName;
  // Users made through the admin API have only the email column: it is their one (primary, work) email.
  if (Array.isArray(emails)) doc.emails = emails;
  else if (row.email !== null) doc.emails = [{ value: row.email, type: 'work', primary: true }];
  if (isObject(enterprise) && Object.keys(enterprise).length > 0) doc[URN.enterprise] = enterprise;
  return doc;
}

function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The primary email, or else the first one: it goes into the email column (sign-in, OIDC claims). */
function primaryEmail(emails: unknown): string | null {
  if (!Array.isArray(emails)) return null;
  const list = emails.filter(isObject);
  return text((list.find((e) => e.primary === true) ?? list[0])?.value);
}

export function toProvisionedUser(doc: Doc): ProvisionedUser {
  const { userName, active, externalId, password: _password, name, [URN.enterprise]: enterprise, ...rest } = doc;
  const { givenName, familyName, ...otherNames } = isObject(name) ? name : {};
  const attributes: Doc = { ...rest };
  if (Object.keys(otherNames).length > 0) attributes.name = otherNames;
  if (isObject(enterprise) && Object.keys(enterprise).length > 0) attributes[ENTERPRISE] = enterprise;
  return {
    username: String(userName),
    externalId: text(externalId),
    active: active !== false,
    email: primaryEmail(doc.emails),
    givenName: text(givenName),
    familyName: text(familyName),
    attributes,
  };
}

/**
 * Names of the attributes that differ between two documents: top-level ones, and the extension's by
 * their bare name (the vocabulary of identity/attribute-precedence.ts).
 */
export function changedAttributes(before: Doc, after: Doc): string[] {
  const changed: string[] = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    if (key === 'password') continue;
    if (key === URN.enterprise) {
      const b = isObject(before[key]) ? (before[key]) : {};
      const a = isObject(after[key]) ? (after[key]) : {};
      for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) if (!same(b[k], a[k])) changed.push(k);
      continue;
    }
    if (!same(before[key], after[key])) changed.push(key);
  }
  return changed.sort();
}

/** Deep equality of JSON values, object key order ignored. */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => same(a[k], b[k]));
  }
  return false;
}
