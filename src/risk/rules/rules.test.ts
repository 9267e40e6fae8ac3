/** The smaller rules, each on hand-made facts. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../policy.ts';
import { bruteForceRule } from './brute-force.ts';
import { compromisedRule } from './compromised.ts';
import { countryRule } from './country.ts';
import { denyListRule } from './deny-lists.ts';
import { deviceRule } from './device.ts';
import { networkRule } from './network.ts';
import { sprayRule } from './spray.ts';
import { NOW, SYDNEY, facts } from './testing.ts';
import { trustedNetworkRule } from './trusted-networks.ts';
import { userAgentRule } from './user-agent.ts';

const known = {
  id: '0190a0a0-0000-7000-8000-0000000000d1',
  firstSeenAt: NOW,
  lastSeenAt: NOW,
  userAgentFamily: 'Firefox',
  lastIp: '88.160.0.1',
  lastNetwork: '88.160.0.0/24',
  signIns: 3,
  passkeyBound: false,
};
const base = facts();
const withDevice = (device: (typeof base)['context']['device']) => ({ ...base.context, device });

describe('deviceRule', () => {
  it('adds points for a new device, none for a known one', () => {
    expect(deviceRule(facts()).map((c) => [c.code, c.points])).toEqual([['new_device', 15]]);
    expect(deviceRule(facts({ knownDevice: known, context: withDevice({ status: 'valid', deviceId: known.id }) })).map((c) => c.code)).toEqual(['known_device']);
  });

  it('says why a device is new: no cookie, or a cookie this user never completed a sign-in with', () => {
    expect(deviceRule(facts())[0]?.details).toEqual({ reason: 'no_cookie' });
    expect(deviceRule(facts({ context: withDevice({ status: 'valid', deviceId: known.id }) }))[0]?.details).toEqual({ reason: 'not_seen_for_user' });
  });

  it('keeps a new device quiet while learning, and never a forged cookie', () => {
    expect(deviceRule(facts({ learning: true }))[0]).toMatchObject({ points: 0, details: { suppressed: 'learning' } });
    expect(deviceRule(facts({ learning: true, context: withDevice({ status: 'invalid' }) }))).toEqual([
      { signal: 'device', points: 20, code: 'invalid_device_cookie', details: {} },
    ]);
  });

  it('counts a passkey binding as trust', () => {
    expect(deviceRule(facts({ knownDevice: { ...known, passkeyBound: true } })).map((c) => c.points)).toEqual([0, -25]);
  });
});

describe('networkRule and countryRule', () => {
  it('flag a network and a country not among recent sign-ins', () => {
    expect(networkRule(facts({ ip: '90.84.0.1', network: '90.84.0.0/24' }))).toEqual([
      { signal: 'network', points: 10, code: 'new_network', details: { network: '90.84.0.0/24' } },
    ]);
    expect(countryRule(facts({ location: SYDNEY }))[0]).toMatchObject({ code: 'new_country', points: 25, details: { country: 'AU', knownCountries: ['FR'] } });
  });

  it('compare ASNs only when the database knows them', () => {
    const located = (asn?: number) => ({ ...SYDNEY, country: 'FR', ...(asn === undefined ? {} : { asn }) });
    expect(networkRule(facts({ location: located(3215) }))).toEqual([]);
    const withAsn = facts({ location: located(3215), recent: base.recent.map((r) => ({ ...r, asn: 12322 })) });
    expect(networkRule(withAsn).map((c) => c.code)).toEqual(['new_asn']);
  });

  it('are silent on trusted networks and have nothing to compare for a first sign-in', () => {
    const trusted = { ...DEFAULT_POLICY, trustedNetworks: ['90.84.0.0/16'] };
    expect(networkRule(facts({ ip: '90.84.0.1', network: '90.84.0.0/24', policy: trusted }))).toEqual([]);
    expect(countryRule(facts({ recent: [], location: SYDNEY }))).toEqual([]);
  });
});

describe('bruteForceRule', () => {
  it('grades consecutive failures', () => {
    expect(bruteForceRule(facts({ account: { consecutive: 2 } }))).toEqual([]);
    expect(bruteForceRule(facts({ account: { consecutive: 3 } }))[0]).toMatchObject({ code: 'repeated_failures', points: 10 });
    expect(bruteForceRule(facts({ account: { consecutive: 8 } }))[0]).toMatchObject({ code: 'many_failures', points: 30 });
  });
});

describe('sprayRule', () => {
  const stats = (over: Partial<(typeof base.sources)[number]>) => ({ source: 'net:1.2.3.0/24', failures: 0, successes: 0, distinctUsernamesFailed: 0, recentFailures: 0, ...over });

  it('makes a success from a spray source a hard rule', () => {
    expect(sprayRule(facts({ sources: [stats({ distinctUsernamesFailed: 9, failures: 9 })] }))).toEqual([]);
    expect(sprayRule(facts({ sources: [stats({ distinctUsernamesFailed: 10, failures: 10 })] }))[0]).toMatchObject({ code: 'spray_source_success', points: 100 });
  });

  it('flags stuffing by failure ratio once there are enough attempts', () => {
    expect(sprayRule(facts({ sources: [stats({ failures: 18, successes: 1 })] }))).toEqual([]);
    expect(sprayRule(facts({ sources: [stats({ failures: 27, successes: 3 })] }))[0]).toMatchObject({ code: 'stuffing_source', details: { failureRatio: 0.9 } });
    expect(sprayRule(facts({ sources: [stats({ failures: 20, successes: 10 })] }))).toEqual([]);
  });
});

describe('lists, user agent, compromised', () => {
  it('denies listed networks and countries', () => {
    const policy = { ...DEFAULT_POLICY, deny: { networks: ['88.160.0.0/16'], countries: ['FR'] } };
    expect(denyListRule(facts({ policy })).map((c) => c.code)).toEqual(['network_denied', 'country_denied']);
    expect(denyListRule(facts())).toEqual([]);
  });

  it('rewards trusted networks', () => {
    expect(trustedNetworkRule(facts({ policy: { ...DEFAULT_POLICY, trustedNetworks: ['88.160.0.1'] } }))[0]?.points).toBe(-20);
  });

  it('flags automation and missing user agents, not browsers', () => {
    const ua = (userAgent: string | undefined) => facts({ context: { ...base.context, userAgent } });
    expect(userAgentRule(ua('curl/8.5.0'))[0]?.code).toBe('automation_agent');
    expect(userAgentRule(ua('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/142.0.0.0 Safari/537.36'))[0]?.code).toBe('automation_agent');
    expect(userAgentRule(ua(undefined))[0]?.code).toBe('missing_user_agent');
    expect(userAgentRule(ua('Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15'))).toEqual([]);
  });

  it('denies a compromised account', () => {
    expect(compromisedRule(facts({ profile: { signIns: 1, compromised: { at: NOW, reason: null } } }))[0]?.code).toBe('account_compromised');
  });
});
