/** The tenant's trusted networks (offices, VPN egress): trust evidence that lowers the score. */
import type { Contribution, RiskFacts } from '../types.ts';
import { networkListOf } from '../network.ts';

export function trustedNetworkRule(facts: RiskFacts): Contribution[] {
  if (!networkListOf(facts.policy.trustedNetworks).has(facts.ip)) return [];
  return [{ signal: 'ip-list', points: facts.weights.trustedNetwork, code: 'trusted_network', details: { ip: facts.ip } }];
}
