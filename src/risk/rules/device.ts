/**
 * Device signal: a browser this user completed a sign-in on before (valid device cookie, device on record)
 * is the baseline; a new one adds points (a novelty signal: quiet while learning); a cookie that fails its
 * signature adds more; a device bound to one of the user's passkeys is strong trust evidence.
 */
import type { Contribution, RiskFacts } from '../types.ts';

export function deviceRule(facts: RiskFacts): Contribution[] {
  const { context, knownDevice, weights, learning } = facts;
  const out: Contribution[] = [];
  if (context.device.status === 'invalid') {
    out.push({ signal: 'device', points: weights.invalidDeviceCookie, code: 'invalid_device_cookie', details: {} });
  }
  if (knownDevice) {
    out.push({
      signal: 'device',
      points: 0,
      code: 'known_device',
      details: { deviceId: knownDevice.id, firstSeenAt: knownDevice.firstSeenAt.toISOString(), signIns: knownDevice.signIns },
    });
  } else if (context.device.status !== 'invalid') {
    const reason = context.device.status === 'valid' ? 'not_seen_for_user' : 'no_cookie';
    out.push(
      learning
        ? { signal: 'device', points: 0, code: 'new_device', details: { reason, suppressed: 'learning' } }
        : { signal: 'device', points: weights.newDevice, code: 'new_device', details: { reason } },
    );
  }
  if (context.passkeyBound || knownDevice?.passkeyBound) {
    out.push({ signal: 'device', points: weights.passkeyBoundDevice, code: 'passkey_bound_device', details: {} });
  }
  return out;
}
