/**
 * The risk engine's vocabulary: what the caller passes in (as data, protocol-free), what the rules see
 * (facts gathered from storage), and what each rule returns (a typed contribution).
 */
import type { Acr } from '../mfa/amr.ts';
import type { GeoLocation } from './geo.ts';
import type { SignInPolicy } from './policy.ts';
import type { DeviceRecord } from './signals/device-repository.ts';
import type { AccountFailures, SourceStats } from './signals/failure-counters.ts';
import type { RiskProfile, SignInRecord } from './signals/history-repository.ts';
import type { Weights } from './weights.ts';

export type RiskLevel = 'low' | 'medium' | 'high';

export type Signal = 'device' | 'network' | 'country' | 'travel' | 'brute-force' | 'spray' | 'ip-list' | 'user-agent' | 'account';

/** One rule's evidence, as stored with the assessment and in the `risk.assessment` audit event. */
export interface Contribution {
  readonly signal: Signal;
  /** Added to the score; negative for trust evidence. */
  readonly points: number;
  /** Stable machine code, e.g. `impossible_travel`; {@link HARD_RULES} names the ones that decide alone. */
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** What the signed device cookie said (src/risk/device-cookie.ts). */
export type DeviceVerdict =
  | { readonly status: 'absent' }
  | { readonly status: 'invalid' }
  | { readonly status: 'valid'; readonly deviceId: string };

/** An attempt before or after a failed first factor: all the caller knows then. */
export interface SignInAttempt {
  readonly tenantId: string;
  /** As typed; compared case-insensitively. */
  readonly username: string;
  /** When the username names an existing user (lets a known device be spared the lockout). */
  readonly userId?: string;
  readonly ip: string;
  readonly userAgent?: string;
  readonly device: DeviceVerdict;
}

/** A sign-in whose first factor succeeded: the input of {@link RiskEngine.assess}. */
export interface SignInContext extends SignInAttempt {
  readonly userId: string;
  /** How the first factor was proven: a verified password, or a passkey (no password used). */
  readonly firstFactor: 'password' | 'passkey';
  /** This browser's device is bound to one of the user's passkeys (strong trust evidence). */
  readonly passkeyBound: boolean;
  /** The OIDC client (or SAML SP's internal client) the sign-in is for: selects per-client policy. */
  readonly clientId?: string;
  /** What the session already proves (a passkey sign-in is `phr`); default: from the first factor. */
  readonly currentAcr?: Acr;
}

/** Everything the rules may look at; gathered by the engine, never fetched by a rule. */
export interface RiskFacts {
  readonly now: Date;
  readonly context: SignInContext;
  readonly ip: string;
  /** IPv4 /24 or IPv6 /64 of `ip`. */
  readonly network: string | undefined;
  readonly location: GeoLocation | undefined;
  readonly policy: SignInPolicy;
  readonly profile: RiskProfile;
  /** True while novelty signals are suppressed (first sign-ins / days, whichever ends first). */
  readonly learning: boolean;
  /** The device record when the cookie is valid and the device is known for this user. */
  readonly knownDevice: DeviceRecord | undefined;
  /** Recent successful sign-ins of the user, the newest of each place (network, ASN, country, coordinates), newest first. */
  readonly recent: readonly SignInRecord[];
  readonly account: AccountFailures;
  readonly sources: readonly SourceStats[];
  readonly weights: Weights;
}

export type Rule = (facts: RiskFacts) => readonly Contribution[];
