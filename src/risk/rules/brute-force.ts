/**
 * Consecutive password failures on the account before this success: some raise the risk, many raise it
 * more (the lockout itself happens before the password is checked, in RiskEngine.precheck).
 */
import type { Contribution, RiskFacts } from '../types.ts';
import { THRESHOLDS } from '../weights.ts';

export function bruteForceRule(facts: RiskFacts): Contribution[] {
  const n = facts.account.consecutive;
  const t = THRESHOLDS.failures;
  if (n < t.some) return [];
  const many = n >= t.many;
  return [
    {
      signal: 'brute-force',
      points: many ? facts.weights.manyFailures : facts.weights.someFailures,
      code: many ? 'many_failures' : 'repeated_failures',
      details: { consecutiveFailures: n },
    },
  ];
}
