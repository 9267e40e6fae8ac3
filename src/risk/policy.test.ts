import { describe, expect, it } from 'vitest';
import { decide, DEFAULT_POLICY, effectivePolicy, levelFor, signInPolicySchema } from './policy.ts';
import { scoreOf } from './scoring.ts';

const policy = (input: unknown) => signInPolicySchema.parse(input);

describe('policy document', () => {
  it('fills documented defaults from {}', () => {
    expect(DEFAULT_POLICY).toMatchObject({
      mode: 'enforce',
      levels: { medium: 30, high: 60 },
      actions: { low: 'allow', medium: 'step-up', high: 'step-up-phishing-resistant' },
      stepUpMaxAgeSeconds: 1800,
      deny: { countries: [], networks: [] },
      trustedNetworks: [],
      learning: { signIns: 10, days: 14 },
      lockout: { threshold: 10, minutes: 15, hardCap: 50, hardCapMinutes: 60 },
      clients: {},
    });
  });

  it('rejects bad values with messages that say what is expected', () => {
    const r = signInPolicySchema.safeParse({ deny: { networks: ['300.1.1.1/8', '10.0.0.0/8/8', '::/129'] }, lockout: { threshold: 20, hardCap: 10 } });
    expect(r.success).toBe(false);
    const messages = r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toContain('deny.networks.0: must be an IP network in CIDR notation, such as 203.0.113.0/24 or 2001:db8::/32');
    expect(messages).toContain('deny.networks.1: must be an IP network in CIDR notation, such as 203.0.113.0/24 or 2001:db8::/32');
    expect(messages).toContain('deny.networks.2: must be an IP network in CIDR notation, such as 203.0.113.0/24 or 2001:db8::/32');
    expect(messages).toContain('lockout.hardCap: hardCap must be greater than threshold');
  });

  it('merges a client override, deny lists added to the tenant’s', () => {
    const p = policy({ deny: { countries: ['KP'] }, clients: { app: { mode: 'report-only', deny: { countries: ['RU'] } } } });
    expect(effectivePolicy(p, 'app')).toMatchObject({ mode: 'report-only', deny: { countries: ['KP', 'RU'] } });
    expect(effectivePolicy(p, 'other')).toBe(p);
  });
});

describe('decide', () => {
  const acr1 = 'urn:portcullis:acr:1fa' as const;

  it('maps levels to actions', () => {
    expect(levelFor(29, DEFAULT_POLICY.levels)).toBe('low');
    expect(levelFor(30, DEFAULT_POLICY.levels)).toBe('medium');
    expect(levelFor(60, DEFAULT_POLICY.levels)).toBe('high');
    expect(decide(DEFAULT_POLICY, { level: 'low', currentAcr: acr1 })).toMatchObject({ computed: { outcome: 'allow' }, policyRule: 'actions.low' });
    expect(decide(DEFAULT_POLICY, { level: 'medium', currentAcr: acr1 }).computed).toEqual({ outcome: 'step-up', factor: 'any', acr: 'urn:portcullis:acr:mfa' });
  });

  it('counts a step-up as done when the session already reaches it', () => {
    expect(decide(DEFAULT_POLICY, { level: 'high', currentAcr: 'phr' }).computed).toEqual({ outcome: 'allow' });
    expect(decide(DEFAULT_POLICY, { level: 'high', currentAcr: 'urn:portcullis:acr:mfa' }).computed).toMatchObject({ factor: 'phishing-resistant' });
  });

  it('lets a deny hard rule win over everything, and the stricter of risk and required acr otherwise', () => {
    expect(decide(DEFAULT_POLICY, { level: 'high', currentAcr: 'phrh', hardRule: { code: 'country_denied', effect: 'deny' } })).toMatchObject({
      computed: { outcome: 'deny' },
      policyRule: 'deny.countries',
    });
    const p = policy({ requiredAcr: 'urn:portcullis:acr:mfa' });
    expect(decide(p, { level: 'low', currentAcr: acr1 })).toMatchObject({ computed: { outcome: 'step-up', factor: 'any' }, policyRule: 'requiredAcr' });
    expect(decide(p, { level: 'high', currentAcr: acr1 })).toMatchObject({ computed: { factor: 'phishing-resistant' }, policyRule: 'actions.high' });
  });

  it('in report-only mode enforces only the required acr', () => {
    const p = policy({ mode: 'report-only', requiredAcr: 'urn:portcullis:acr:mfa', actions: { low: 'allow', medium: 'deny', high: 'deny' } });
    expect(decide(p, { level: 'medium', currentAcr: acr1 })).toMatchObject({
      computed: { outcome: 'deny' },
      effective: { outcome: 'step-up', factor: 'any' },
      enforced: false,
    });
  });
});

describe('scoreOf', () => {
  it('applies hard rules first, then sums points (never below zero)', () => {
    const c = (code: string, points: number) => ({ signal: 'device' as const, code, points, details: {} });
    expect(scoreOf([c('new_device', 15), c('trusted_network', -20)], DEFAULT_POLICY.levels)).toEqual({ score: 0, level: 'low' });
    expect(scoreOf([c('new_device', 15), c('new_country', 25)], DEFAULT_POLICY.levels)).toEqual({ score: 40, level: 'medium' });
    expect(scoreOf([c('spray_source_success', 100), c('passkey_bound_device', -25)], DEFAULT_POLICY.levels)).toEqual({
      score: 75,
      level: 'high',
      hardRule: { code: 'spray_source_success', effect: 'high' },
    });
    expect(scoreOf([c('spray_source_success', 100), c('network_denied', 100)], DEFAULT_POLICY.levels).hardRule).toEqual({ code: 'network_denied', effect: 'deny' });
  });
});
