/** Facts for the rule unit tests beside this file: an established user on a known device in Paris. */
import { DEFAULT_POLICY } from '../policy.ts';
import type { RiskFacts } from '../types.ts';
import { DEFAULT_WEIGHTS } from '../weights.ts';

export const NOW = new Date('2026-11-26T12:00:00Z');
export const PARIS = { country: 'FR', latitude: 48.8575, longitude: 2.3514, accuracyKm: 100 };
export const SYDNEY = { country: 'AU', latitude: -33.8688, longitude: 151.209, accuracyKm: 100 };

export function facts(over: Partial<RiskFacts> = {}): RiskFacts {
  return {
    now: NOW,
    context: {
      tenantId: 't',
      userId: '0190a0a0-0000-7000-8000-000000000001',
      username: 'u',
      ip: '88.160.0.1',
      userAgent: 'Mozilla/5.0 Firefox/140.0',
      device: { status: 'absent' },
      firstFactor: 'password',
      passkeyBound: false,
    },
    ip: '88.160.0.1',
    network: '88.160.0.0/24',
    location: PARIS,
    policy: DEFAULT_POLICY,
    profile: { signIns: 20, firstSignInAt: new Date('2026-01-01T00:00:00Z') },
    learning: false,
    knownDevice: undefined,
    recent: [{ at: new Date(NOW.getTime() - 3_600_000), ip: '88.160.0.1', network: '88.160.0.0/24', ...PARIS }],
    account: { consecutive: 0 },
    sources: [],
    weights: DEFAULT_WEIGHTS,
    ...over,
  };
}
