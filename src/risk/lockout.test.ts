import { describe, expect, it } from 'vitest';
import { lockoutGate } from './lockout.ts';
import { DEFAULT_POLICY } from './policy.ts';

const at = new Date('2026-11-26T12:00:00Z');
const after = (s: number): Date => new Date(at.getTime() + s * 1000);
const lockout = DEFAULT_POLICY.lockout;
const gate = (consecutive: number, seconds: number, known = false) => lockoutGate({ consecutive, lastFailureAt: at }, lockout, after(seconds), known);

describe('lockoutGate', () => {
  it('lets the first failures through at once', () => {
    expect(lockoutGate({ consecutive: 0 }, lockout, at, false)).toEqual({ kind: 'proceed' });
    expect(gate(2, 0)).toEqual({ kind: 'proceed' });
  });

  it('delays 1, 2, 4 … seconds from the third failure, at most a minute', () => {
    expect(gate(3, 0)).toEqual({ kind: 'delayed', retryAfterSeconds: 1 });
    expect(gate(5, 1)).toEqual({ kind: 'delayed', retryAfterSeconds: 3 });
    expect(gate(9, 0)).toEqual({ kind: 'delayed', retryAfterSeconds: 60 });
    expect(gate(9, 60)).toEqual({ kind: 'proceed' });
  });

  it('locks for fifteen minutes from ten failures, sparing a known device', () => {
    expect(gate(10, 0)).toEqual({ kind: 'locked', retryAfterSeconds: 900, hardCap: false });
    expect(gate(10, 899)).toEqual({ kind: 'locked', retryAfterSeconds: 1, hardCap: false });
    expect(gate(10, 900)).toEqual({ kind: 'proceed' });
    expect(gate(10, 0, true)).toEqual({ kind: 'proceed' });
  });

  it('locks everyone at the hard cap', () => {
    expect(gate(50, 0, true)).toEqual({ kind: 'locked', retryAfterSeconds: 3600, hardCap: true });
    expect(gate(50, 3600, true)).toEqual({ kind: 'proceed' });
  });
});
