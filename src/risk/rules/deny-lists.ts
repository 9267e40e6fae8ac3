/** The tenant's (and client's) deny lists: a listed network or country is a hard rule that denies. */
import type { Contribution, RiskFacts } from '../types.ts';
import { networkListOf } from '../network.ts';

export function denyListRule(facts: RiskFacts): Contribution[] {
  const { policy, ip, location, weights } = facts;
  const out: Contribution[] = [];
  if (networkListOf(policy.deny.networks).has(ip)) {
    out.push({ signal: 'ip-list', points: weights.hardRule, code: 'network_denied', details: { ip } });
  }
  if (location && policy.deny.countries.includes(location.country)) {
    out.push({ signal: 'ip-list', points: weights.hardRule, code: 'country_denied', details: { country: location.country } });
  }
  return out;
}
