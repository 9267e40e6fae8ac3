/** Country novelty: a country none of the user's recent successful sign-ins came from (quiet while learning). */
import type { Contribution, RiskFacts } from '../types.ts';

export function countryRule(facts: RiskFacts): Contribution[] {
  const { location, recent, weights, learning } = facts;
  if (!location) return [];
  const known = recent.flatMap((r) => (r.country ? [r.country] : []));
  if (known.length === 0 || known.includes(location.country)) return [];
  const details = { country: location.country, knownCountries: [...new Set(known)].slice(0, 10) };
  return learning
    ? [{ signal: 'country', points: 0, code: 'new_country', details: { ...details, suppressed: 'learning' } }]
    : [{ signal: 'country', points: weights.newCountry, code: 'new_country', details }];
}
