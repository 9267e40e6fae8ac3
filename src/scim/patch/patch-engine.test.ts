import { describe, expect, it } from 'vitest';
import { createRegistry } from '../registry/attributes.ts';
import { loadScimDocuments } from '../registry/schema-documents.ts';
import { applyPatch } from './patch-engine.ts';

const { User, Group } = createRegistry(loadScimDocuments());
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('applyPatch', () => {
  const base = { userName: 'a', emails: [{ value: 'a@x', type: 'work', primary: true }] };

  it('moves primary to the value the operation marks primary', () => {
    const out = applyPatch(base, [{ op: 'add', path: 'emails', value: [{ value: 'b@x', type: 'home', primary: true }] }], User);
    expect(out.emails).toEqual([
      { value: 'a@x', type: 'work', primary: false },
      { value: 'b@x', type: 'home', primary: true },
    ]);
  });

  it('adds to an existing single value by replacing it, and merges complex values', () => {
    const out = applyPatch({ ...base, title: 'old', name: { givenName: 'A' } }, [
      { op: 'ADD', path: 'title', value: 'new' },
      { op: 'Add', value: { name: { familyName: 'B' } } },
    ], User);
    expect(out).toMatchObject({ title: 'new', name: { givenName: 'A', familyName: 'B' } });
  });

  it('creates an element for an eq filter that matches nothing, and refuses other filters (noTarget)', () => {
    const out = applyPatch(base, [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1' }], User);
    expect(out.phoneNumbers).toEqual([{ type: 'mobile', value: '+1' }]);
    expect(() => applyPatch(base, [{ op: 'replace', path: 'phoneNumbers[value co "1"].value', value: '+1' }], User)).toThrow(
      expect.objectContaining({ scimType: 'noTarget' }) as Error,
    );
  });

  it('sets and clears the manager, given as a bare id', () => {
    const set = applyPatch(base, [{ op: 'add', path: `${ENT}:manager`, value: 'm-1' }], User);
    expect(set[ENT]).toEqual({ manager: { value: 'm-1' } });
    const cleared = applyPatch(set, [{ op: 'remove', path: `${ENT}:manager` }], User);
    expect(cleared).not.toHaveProperty(ENT);
  });

  it('is all or nothing and leaves its input alone', () => {
    const input = structuredClone(base);
    expect(() => applyPatch(input, [{ op: 'replace', path: 'title', value: 'x' }, { op: 'remove', path: 'userName' }], User)).toThrow();
    expect(input).toEqual(base);
  });

  it('removes members by value filter or by value list', () => {
    const group = { displayName: 'g', members: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] };
    const out = applyPatch(group, [
      { op: 'remove', path: 'members[value eq "a"]' },
      { op: 'remove', path: 'members', value: [{ value: 'b' }] },
    ], Group);
    expect(out.members).toEqual([{ value: 'c' }]);
  });
});
