/** An administrator marked the account compromised: a hard rule that denies until the mark is cleared. */
import type { Contribution, RiskFacts } from '../types.ts';

export function compromisedRule(facts: RiskFacts): Contribution[] {
  const mark = facts.profile.compromised;
  if (!mark) return [];
  return [{ signal: 'account', points: facts.weights.hardRule, code: 'account_compromised', details: { markedAt: mark.at.toISOString(), reason: mark.reason } }];
}
