/**
 * What the user is told: a plain-language reason built from the strongest evidence, never scores or
 * internal codes.
 */
import type { Decision } from './policy.ts';
import type { Contribution } from './types.ts';

const PHRASES: Readonly<Record<string, string>> = {
  network_denied: 'sign-in from your network is not allowed',
  country_denied: 'sign-in from your country is not allowed',
  account_compromised: 'your account has been locked for your protection; please contact your administrator',
  spray_source_success: 'your network has recently sent many failed sign-in attempts for different accounts',
  stuffing_source: 'your network has recently sent many failed sign-in attempts',
  impossible_travel: 'this sign-in comes from a place too far from your last sign-in to have travelled there since',
  substantial_travel: 'this sign-in comes from far away from your last one',
  travel: 'this sign-in comes from a different region than your last one',
  many_failures: 'there were many failed attempts to sign in to your account',
  repeated_failures: 'there were several failed attempts to sign in to your account',
  invalid_device_cookie: 'we could not recognise your device',
  new_device: 'you are signing in from a device we have not seen before',
  new_country: 'you are signing in from a country we have not seen before',
  new_network: 'you are signing in from a network we have not seen before',
  new_asn: 'you are signing in through an internet provider we have not seen before',
  automation_agent: 'your browser identifies itself as an automated tool',
  missing_user_agent: 'your browser did not identify itself',
};

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** `contributions` as assessed; `hardCode` the hard rule that decided, if any. */
export function reasonFor(decision: Decision, contributions: readonly Contribution[], hardCode?: string): string {
  const evidence = [...contributions]
    .filter((c) => (c.points > 0 || c.code === hardCode) && PHRASES[c.code])
    .sort((a, b) => (b.code === hardCode ? 1 : 0) - (a.code === hardCode ? 1 : 0) || b.points - a.points)
    .slice(0, 2)
    .map((c) => PHRASES[c.code] ?? '');
  const because = evidence.length > 0 ? ` because ${evidence.join(', and ')}` : '';
  switch (decision.outcome) {
    case 'allow':
      return 'Signed in.';
    case 'deny':
      return hardCode === 'account_compromised' || hardCode === 'network_denied' || hardCode === 'country_denied'
        ? `${capitalise(PHRASES[hardCode] ?? 'sign-in is not allowed')}.`
        : `We could not let you sign in${because}.`;
    case 'step-up':
      return decision.factor === 'phishing-resistant'
        ? `Please confirm it's you with a passkey or security key${because}.`
        : `Please confirm it's you with a second factor${because}.`;
  }
}
