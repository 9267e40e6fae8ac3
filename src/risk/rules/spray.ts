/**
 * Password spray and credential stuffing, per source (IP, /24 or /64, ASN) over a sliding window: a source
 * that failed for many distinct usernames is a spray suspect, and a *successful* password from it is a hard
 * rule (high risk whatever else is known); a source that fails most of its attempts suggests stuffing.
 */
import type { Contribution, RiskFacts } from '../types.ts';
import { THRESHOLDS } from '../weights.ts';

export function sprayRule(facts: RiskFacts): Contribution[] {
  const t = THRESHOLDS.sources;
  const spray = facts.sources
    .filter((s) => s.distinctUsernamesFailed >= t.sprayDistinctUsernames)
    .sort((a, b) => b.distinctUsernamesFailed - a.distinctUsernamesFailed)[0];
  if (spray) {
    return [
      {
        signal: 'spray',
        points: facts.weights.hardRule,
        code: 'spray_source_success',
        details: { source: spray.source, distinctUsernamesFailed: spray.distinctUsernamesFailed, windowMinutes: t.sprayWindowMinutes },
      },
    ];
  }
  const stuffing = facts.sources.find((s) => {
    const attempts = s.failures + s.successes;
    return attempts >= t.stuffingMinAttempts && s.failures / attempts >= t.stuffingFailureRatio;
  });
  if (!stuffing) return [];
  const ratio = stuffing.failures / (stuffing.failures + stuffing.successes);
  return [
    {
      signal: 'spray',
      points: facts.weights.stuffingSource,
      code: 'stuffing_source',
      details: { source: stuffing.source, failures: stuffing.failures, successes: stuffing.successes, failureRatio: Math.round(ratio * 100) / 100 },
    },
  ];
}
