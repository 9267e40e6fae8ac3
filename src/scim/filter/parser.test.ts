import { describe, expect, it } from 'vitest';
import { parseFilter } from './parser.ts';

describe('parseFilter', () => {
  it('gives and precedence over or, and not over and', () => {
    expect(parseFilter('a eq 1 or b pr and not (c eq "x")')).toEqual({
      kind: 'or',
      left: { kind: 'compare', path: 'a', op: 'eq', value: 1 },
      right: { kind: 'and', left: { kind: 'present', path: 'b' }, right: { kind: 'not', filter: { kind: 'compare', path: 'c', op: 'eq', value: 'x' } } },
    });
  });

  it('parses value paths, URN-prefixed paths, literals and escapes', () => {
    expect(parseFilter('emails[type eq "work" and value co "@acme.com"]')).toMatchObject({ kind: 'valuePath', path: 'emails', filter: { kind: 'and' } });
    expect(parseFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"')).toMatchObject({
      path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value',
    });
    expect(parseFilter('a EQ TRUE')).toMatchObject({ op: 'eq', value: true });
    expect(parseFilter('a ne null')).toMatchObject({ op: 'ne', value: null });
    expect(parseFilter(String.raw`a eq "q\"u\\o\u0041"`)).toMatchObject({ value: 'q"u\\oA' });
    expect(parseFilter('a gt -1.5e2')).toMatchObject({ value: -150 });
  });

  it.each(['', 'a', 'a eq', 'a eq b', '(a pr', 'a pr)', 'a[b pr', 'a[b[c pr]]', 'a zz 1', 'not a pr', 'a eq "x" and', '"x" eq a', 'a eq 01'])(
    'refuses %j with invalidFilter',
    (input) => {
      expect(() => parseFilter(input)).toThrow(expect.objectContaining({ scimType: 'invalidFilter', status: 400 }) as Error);
    },
  );

  it('bounds depth, size and length', () => {
    expect(() => parseFilter(`${'('.repeat(17)}a pr${')'.repeat(17)}`)).toThrow(/deeper/);
    expect(parseFilter(`${'('.repeat(16)}a pr${')'.repeat(16)}`)).toEqual({ kind: 'present', path: 'a' });
    expect(() => parseFilter(Array.from({ length: 65 }, () => 'a pr').join(' or '))).toThrow(/more than 64/);
    expect(() => parseFilter(`a eq "${'x'.repeat(5000)}"`)).toThrow(/longer/);
  });
});
