/**
 * The sign-in policy document (one per tenant, per-client overrides inside) and the decision it makes
 * from an assessment. Fixed names (DESIGN.md "Sign-in policy document"): `mode`, `deny.countries`,
 * `deny.networks`, `trustedNetworks`, `clients`. Everything else has a documented default, so `{}` is a
 * valid policy.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ACR, ACR_VALUES, acrRank, acrSatisfies, type Acr } from '../mfa/amr.ts';
import type { RiskLevel } from './types.ts';

/** What a level leads to: allow; step-up with any second factor or a phishing-resistant one; deny. */
export const ACTIONS = ['allow', 'step-up', 'step-up-phishing-resistant', 'deny'] as const;
export type Action = (typeof ACTIONS)[number];

function isCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const cidr = z.string().max(64).refine(isCidr, 'must be an IP network in CIDR notation, such as 203.0.113.0/24 or 2001:db8::/32');
const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code, such as "FR"')
  .transform((c) => c.toUpperCase());
const action = z.enum(ACTIONS, { error: `must be one of ${ACTIONS.map((a) => `"${a}"`).join(', ')}` });
const acr = z.enum(ACR_VALUES, { error: `must be one of ${ACR_VALUES.map((a) => `"${a}"`).join(', ')}` });
const mode = z.enum(['enforce', 'report-only'], { error: 'must be "enforce" or "report-only"' });

const levelsSchema = z
  .strictObject({
    /** Score from which a sign-in is medium risk. */
    medium: z.int().min(1).max(1000),
    /** Score from which it is high risk; above `medium`. */
    high: z.int().min(1).max(1000),
  })
  .refine((l) => l.high > l.medium, { message: 'high must be greater than medium', path: ['high'] });

const actionsSchema = z.strictObject({ low: action, medium: action, high: action });

const denySchema = z.strictObject({
  countries: z.array(country).max(250).default([]),
  networks: z.array(cidr).max(1000).default([]),
});

/** What one client may change; its `deny` lists add to the tenant's. */
const clientOverrideSchema = z.strictObject({
  mode: mode.optional(),
  levels: levelsSchema.optional(),
  actions: actionsSchema.optional(),
  requiredAcr: acr.optional(),
  stepUpMaxAgeSeconds: z.int().min(60).max(30 * 86_400).optional(),
  deny: denySchema.optional(),
});

export const DEFAULT_LEVELS = { medium: 30, high: 60 };
export const DEFAULT_ACTIONS: Record<RiskLevel, Action> = { low: 'allow', medium: 'step-up', high: 'step-up-phishing-resistant' };

export const signInPolicySchema = z.strictObject({
  /** `report-only`: decisions are computed and recorded, not enforced. */
  mode: mode.default('enforce'),
  levels: levelsSchema.default(DEFAULT_LEVELS),
  actions: actionsSchema.default(DEFAULT_ACTIONS),
  /** The acr every sign-in must reach (apps may require more through `clients`). */
  requiredAcr: acr.optional(),
  /** How long a step-up keeps the session elevated (seconds). */
  stepUpMaxAgeSeconds: z.int().min(60).max(30 * 86_400).default(1800),
  deny: denySchema.default({ countries: [], networks: [] }),
  /** Networks of the organisation: trust evidence; exempt from the per-IP and per-network 429s. */
  trustedNetworks: z.array(cidr).max(1000).default([]),
  /** Novelty signals stay quiet for a user's first `signIns` sign-ins or first `days`, whichever ends first. */
  learning: z
    .strictObject({ signIns: z.int().min(0).max(1000).default(10), days: z.int().min(0).max(365).default(14) })
    .default({ signIns: 10, days: 14 }),
  /**
   * Account lockout after `threshold` consecutive failures for `minutes` (a known device is spared); after
   * `hardCap` failures everyone is refused for `hardCapMinutes`.
   */
  lockout: z
    .strictObject({
      threshold: z.int().min(3).max(1000).default(10),
      minutes: z.int().min(1).max(24 * 60).default(15),
      hardCap: z.int().min(5).max(10_000).default(50),
      hardCapMinutes: z.int().min(1).max(7 * 24 * 60).default(60),
    })
    .refine((l) => l.hardCap > l.threshold, { message: 'hardCap must be greater than threshold', path: ['hardCap'] })
    .default({ threshold: 10, minutes: 15, hardCap: 50, hardCapMinutes: 60 }),
  /** Per-client overrides keyed by client id. */
  clients: z.record(z.string().min(1).max(200), clientOverrideSchema).default({}),
});

export type SignInPolicy = z.infer<typeof signInPolicySchema>;
export type SignInPolicyInput = z.input<typeof signInPolicySchema>;
export type ClientOverride = z.infer<typeof clientOverrideSchema>;

export const DEFAULT_POLICY: SignInPolicy = signInPolicySchema.parse({});

/** The tenant's policy with one client's overrides applied (deny lists merged). */
export function effectivePolicy(policy: SignInPolicy, clientId: string | undefined): SignInPolicy {
  const override = clientId === undefined ? undefined : policy.clients[clientId];
  if (!override) return policy;
  return {
    ...policy,
    mode: override.mode ?? policy.mode,
    levels: override.levels ?? policy.levels,
    actions: override.actions ?? policy.actions,
    requiredAcr: override.requiredAcr ?? policy.requiredAcr,
    stepUpMaxAgeSeconds: override.stepUpMaxAgeSeconds ?? policy.stepUpMaxAgeSeconds,
    deny: {
      countries: [...new Set([...policy.deny.countries, ...(override.deny?.countries ?? [])])],
      networks: [...new Set([...policy.deny.networks, ...(override.deny?.networks ?? [])])],
    },
  };
}

export function levelFor(score: number, levels: SignInPolicy['levels']): RiskLevel {
  if (score >= levels.high) return 'high';
  if (score >= levels.medium) return 'medium';
  return 'low';
}

export type StepUpFactor = 'any' | 'phishing-resistant';

export type Decision =
  | { readonly outcome: 'allow' }
  /** Prove another factor until the session reaches `acr`. */
  | { readonly outcome: 'step-up'; readonly factor: StepUpFactor; readonly acr: Acr }
  | { readonly outcome: 'deny' };

export interface PolicyDecision {
  /** What the policy says for this sign-in. */
  readonly computed: Decision;
  /** What the caller must do: `computed` when enforced; in report-only mode, only the app's required acr. */
  readonly effective: Decision;
  readonly enforced: boolean;
  /** The policy field that decided, e.g. `actions.high`, `clients.app.requiredAcr`, `deny.networks`. */
  readonly policyRule: string;
  readonly stepUpMaxAgeSeconds: number;
}

export interface DecisionInput {
  readonly clientId?: string;
  readonly level: RiskLevel;
  /** A hard rule that fired: `deny` refuses outright; `high` forces the high level (already in `level`). */
  readonly hardRule?: { readonly code: string; readonly effect: 'deny' | 'high' };
  /** What the session already proves. */
  readonly currentAcr: Acr;
}

const ALLOW: Decision = { outcome: 'allow' };

function fromAction(action: Action, currentAcr: Acr): Decision {
  switch (action) {
    case 'allow':
      return ALLOW;
    case 'deny':
      return { outcome: 'deny' };
    case 'step-up':
      return acrSatisfies(currentAcr, ACR.multiFactor) ? ALLOW : { outcome: 'step-up', factor: 'any', acr: ACR.multiFactor };
    case 'step-up-phishing-resistant':
      return acrSatisfies(currentAcr, ACR.phishingResistant)
        ? ALLOW
        : { outcome: 'step-up', factor: 'phishing-resistant', acr: ACR.phishingResistant };
  }
}

function fromRequiredAcr(required: Acr | undefined, currentAcr: Acr): Decision {
  if (!required || acrSatisfies(currentAcr, required)) return ALLOW;
  return { outcome: 'step-up', factor: acrRank(required) >= acrRank(ACR.phishingResistant) ? 'phishing-resistant' : 'any', acr: required };
}

function strictness(d: Decision): number {
  if (d.outcome === 'deny') return 1000;
  if (d.outcome === 'step-up') return 1 + acrRank(d.acr);
  return 0;
}

/** Maps an assessment to allow / step-up / deny under `policy` (the tenant's, overrides applied here). */
export function decide(policy: SignInPolicy, input: DecisionInput): PolicyDecision {
  const client = input.clientId === undefined ? undefined : policy.clients[input.clientId];
  const effective = effectivePolicy(policy, input.clientId);
  const prefix = (field: keyof ClientOverride): string =>
    client?.[field] !== undefined ? `clients.${input.clientId ?? ''}.${field}` : field;
  const enforced = effective.mode === 'enforce';

  let risk: { decision: Decision; rule: string };
  if (input.hardRule?.effect === 'deny') {
    const rule = input.hardRule.code === 'network_denied' ? 'deny.networks' : input.hardRule.code === 'country_denied' ? 'deny.countries' : `hard.${input.hardRule.code}`;
    risk = { decision: { outcome: 'deny' }, rule };
  } else {
    risk = { decision: fromAction(effective.actions[input.level], input.currentAcr), rule: `${prefix('actions')}.${input.level}` };
  }
  const app = { decision: fromRequiredAcr(effective.requiredAcr, input.currentAcr), rule: prefix('requiredAcr') };
  const stricter = strictness(app.decision) > strictness(risk.decision) ? app : risk;
  return {
    computed: stricter.decision,
    effective: enforced ? stricter.decision : app.decision,
    enforced,
    policyRule: stricter.rule,
    stepUpMaxAgeSeconds: effective.stepUpMaxAgeSeconds,
  };
}
