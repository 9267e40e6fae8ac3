/**
 * Network novelty: the sign-in's /24 (IPv4) or /64 (IPv6), and its autonomous system when the geo
 * database knows it, compared with the user's recent successful sign-ins. Quiet while learning and on
 * the tenant's trusted networks (that rule speaks for them).
 */
import type { Contribution, RiskFacts } from '../types.ts';
import { networkListOf } from '../network.ts';

export function networkRule(facts: RiskFacts): Contribution[] {
  const { network, location, recent, weights, learning, policy, ip } = facts;
  if (networkListOf(policy.trustedNetworks).has(ip)) return [];
  const out: Contribution[] = [];
  const suppress = (c: Contribution): Contribution => (learning ? { ...c, points: 0, details: { ...c.details, suppressed: 'learning' } } : c);
  if (network && !recent.some((r) => r.network === network)) {
    out.push(suppress({ signal: 'network', points: weights.newNetwork, code: 'new_network', details: { network } }));
  }
  const asn = location?.asn;
  const knownAsns = recent.flatMap((r) => (r.asn === undefined ? [] : [r.asn]));
  if (asn !== undefined && knownAsns.length > 0 && !knownAsns.includes(asn)) {
    out.push(suppress({ signal: 'network', points: weights.newAsn, code: 'new_asn', details: { asn } }));
  }
  return out;
}
