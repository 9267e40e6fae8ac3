/** Hard rules first, then additive points, then the policy's level cut-offs. Pure. */
import { levelFor, type SignInPolicy } from './policy.ts';
import type { Contribution, RiskLevel } from './types.ts';
import { HARD_RULES } from './weights.ts';

export interface HardRuleHit {
  readonly code: string;
  readonly effect: 'deny' | 'high';
}

export interface Score {
  readonly score: number;
  readonly level: RiskLevel;
  readonly hardRule?: HardRuleHit;
}

export function scoreOf(contributions: readonly Contribution[], levels: SignInPolicy['levels']): Score {
  const hits = contributions.flatMap((c) => {
    const effect = HARD_RULES[c.code];
    return effect ? [{ code: c.code, effect }] : [];
  });
  const hardRule = hits.find((h) => h.effect === 'deny') ?? hits[0];
  const score = Math.max(0, contributions.reduce((sum, c) => sum + c.points, 0));
  return { score, level: hardRule ? 'high' : levelFor(score, levels), ...(hardRule ? { hardRule } : {}) };
}
