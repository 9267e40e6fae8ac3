/**
 * What the account's failure run allows next (pure): a progressive delay after a few failures, a temporary
 * lockout after `lockout.threshold` that spares a device the user completed a sign-in on, and a hard cap
 * after which nobody gets in until `lockout.hardCapMinutes` pass.
 */
import type { SignInPolicy } from './policy.ts';
import type { AccountFailures } from './signals/failure-counters.ts';
import { THRESHOLDS } from './weights.ts';

export type Gate =
  | { readonly kind: 'proceed' }
  /** Too many failures from this IP or network: answer 429 with Retry-After. */
  | { readonly kind: 'throttled'; readonly scope: 'ip' | 'network'; readonly retryAfterSeconds: number }
  /** Progressive delay: the next attempt on this account is allowed after `retryAfterSeconds`. */
  | { readonly kind: 'delayed'; readonly retryAfterSeconds: number }
  /** Temporary lockout (`hardCap` true: it holds for known devices too). */
  | { readonly kind: 'locked'; readonly retryAfterSeconds: number; readonly hardCap: boolean };

export const PROCEED: Gate = { kind: 'proceed' };

export function lockoutGate(account: AccountFailures, lockout: SignInPolicy['lockout'], now: Date, knownDevice: boolean): Gate {
  if (!account.lastFailureAt) return PROCEED;
  const n = account.consecutive;
  const elapsedMs = now.getTime() - account.lastFailureAt.getTime();
  const remaining = (ms: number): number => Math.max(1, Math.ceil((ms - elapsedMs) / 1000));
  if (n >= lockout.hardCap && elapsedMs < lockout.hardCapMinutes * 60_000) {
    return { kind: 'locked', retryAfterSeconds: remaining(lockout.hardCapMinutes * 60_000), hardCap: true };
  }
  if (knownDevice) return PROCEED;
  if (n >= lockout.threshold && elapsedMs < lockout.minutes * 60_000) {
    return { kind: 'locked', retryAfterSeconds: remaining(lockout.minutes * 60_000), hardCap: false };
  }
  const f = THRESHOLDS.failures;
  if (n >= f.delayFrom) {
    const delayMs = Math.min(2 ** (n - f.delayFrom), f.maxDelaySeconds) * 1000;
    if (elapsedMs < delayMs) return { kind: 'delayed', retryAfterSeconds: remaining(delayMs) };
  }
  return PROCEED;
}
