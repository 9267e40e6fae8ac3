import { describe, expect, it } from 'vitest';
import { asCtes, mergeWrites, overlaps, standalone } from './combined-writes.ts';

const write = (n: number, key: string) => ({
  statements: ['insert into t (a, b) values ($1, $10)', 'delete from u where c = $2'],
  parameters: Array.from({ length: 10 }, (_, i) => `${key}${i + 1}`).slice(0, n),
  keys: [`t ${key}`],
});

describe('combined writes', () => {
  it('numbers each write’s parameters after the carrier’s and the writes before it ($1 never touches $10)', () => {
    const { ctes, parameters } = asCtes([write(10, 'x'), write(10, 'y')], 3, 'c');
    expect(ctes).toEqual([
      'c0_0 as (insert into t (a, b) values ($4, $13))',
      'c0_1 as (delete from u where c = $5)',
      'c1_0 as (insert into t (a, b) values ($14, $23))',
      'c1_1 as (delete from u where c = $15)',
    ]);
    expect(parameters[0]).toBe('x1');
    expect(parameters[10]).toBe('y1');
    expect(parameters).toHaveLength(20);
  });

  it('runs a write on its own as one statement', () => {
    const q = standalone(write(10, 'x'));
    expect(q.sql).toBe('with w0_0 as (insert into t (a, b) values ($1, $10)),\nw0_1 as (delete from u where c = $2)\nselect 1');
    expect(q.parameters).toHaveLength(10);
  });

  it('tells writes of one row apart', () => {
    expect(overlaps(new Set(['t x']), write(1, 'x'))).toBe(true);
    expect(overlaps(new Set(['t y']), write(1, 'x'))).toBe(false);
  });

  it('merges array-shaped writes of the same statements into one, in order, and leaves the others alone', () => {
    const statements = ['insert into t select * from unnest($1::text[], $2::int[])'];
    const a = { statements, parameters: [['a'], [1]], keys: ['t a'], arrays: true };
    const b = { statements, parameters: [['b', 'c'], [2, 3]], keys: ['t b', 't c'], arrays: true };
    const other = write(10, 'x');
    const merged = mergeWrites([a, other, b]);
    expect(merged).toEqual([{ statements, parameters: [['a', 'b', 'c'], [1, 2, 3]], keys: ['t a', 't b', 't c'], arrays: true }, other]);
    // The inputs are left as they were.
    expect(a.parameters).toEqual([['a'], [1]]);
  });
});
