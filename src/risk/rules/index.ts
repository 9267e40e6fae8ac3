/** Every rule, hard rules first (the order contributions are listed in). */
import type { Rule } from '../types.ts';
import { bruteForceRule } from './brute-force.ts';
import { compromisedRule } from './compromised.ts';
import { countryRule } from './country.ts';
import { denyListRule } from './deny-lists.ts';
import { deviceRule } from './device.ts';
import { networkRule } from './network.ts';
import { sprayRule } from './spray.ts';
import { travelRule } from './travel.ts';
import { trustedNetworkRule } from './trusted-networks.ts';
import { userAgentRule } from './user-agent.ts';

export const RULES: readonly Rule[] = [
  denyListRule,
  compromisedRule,
  sprayRule,
  travelRule,
  bruteForceRule,
  deviceRule,
  networkRule,
  countryRule,
  userAgentRule,
  trustedNetworkRule,
];
