/**
 * Authentication methods (`amr`, RFC 8176) and context class (`acr`) computed from what really happened in
 * a sign-in: each factor proven is an event with its time, and factors that raise the level count only
 * while fresh (`stepUpMaxAgeSeconds`, from the sign-in policy), after which the session falls back to what
 * its first factor alone proves.
 * @see https://www.rfc-editor.org/rfc/rfc8176#section-2
 * @see https://openid.net/specs/openid-connect-eap-acr-values-1_0.html (phr, phrh)
 */

/** RFC 8176 values Portcullis emits. */
export type AmrValue = 'pwd' | 'otp' | 'hwk' | 'swk' | 'user' | 'mfa' | 'rba';

/** acr values, weakest first: password only; two factors; phishing-resistant; phishing-resistant hardware. */
export const ACR_VALUES = ['urn:portcullis:acr:1fa', 'urn:portcullis:acr:mfa', 'phr', 'phrh'] as const;
export type Acr = (typeof ACR_VALUES)[number];
export const ACR = {
  singleFactor: 'urn:portcullis:acr:1fa',
  multiFactor: 'urn:portcullis:acr:mfa',
  phishingResistant: 'phr',
  phishingResistantHardware: 'phrh',
} as const satisfies Record<string, Acr>;

export function acrRank(acr: Acr): number {
  return ACR_VALUES.indexOf(acr);
}

/** True when a session at `have` meets a requirement of `need`. */
export function acrSatisfies(have: Acr, need: Acr): boolean {
  return acrRank(have) >= acrRank(need);
}

export type AuthenticationEvent =
  | { readonly method: 'password'; readonly at: Date }
  | { readonly method: 'totp'; readonly at: Date }
  /** A recovery code is a one-time code from a printed list: RFC 8176 has no closer value than `otp`. */
  | { readonly method: 'recovery-code'; readonly at: Date }
  | {
      readonly method: 'passkey';
      readonly at: Date;
      /** Device-bound authenticator (security key, TPM) rather than a synced passkey. */
      readonly hardwareBound: boolean;
      /** The authenticator verified the user (PIN or biometric), not just presence. */
      readonly userVerified: boolean;
    };

export interface AuthenticationContext {
  readonly acr: Acr;
  readonly amr: readonly AmrValue[];
  /** When the current acr falls back to the first factor's level (undefined: it never does). */
  readonly elevatedUntil: Date | undefined;
}

export interface ContextOptions {
  readonly now: Date;
  /** How long a factor beyond the first keeps raising the level. */
  readonly stepUpMaxAgeSeconds: number;
  /** A risk assessment took part in the decision (adds `rba`). */
  readonly riskAssessed: boolean;
}

type FactorClass = 'knowledge' | 'possession' | 'inherence';

function amrOf(event: AuthenticationEvent): AmrValue[] {
  switch (event.method) {
    case 'password':
      return ['pwd'];
    case 'totp':
    case 'recovery-code':
      return ['otp'];
    case 'passkey':
      return [event.hardwareBound ? 'hwk' : 'swk', ...(event.userVerified ? (['user'] as const) : [])];
  }
}

function classesOf(event: AuthenticationEvent): FactorClass[] {
  if (event.method === 'password') return ['knowledge'];
  if (event.method === 'passkey' && event.userVerified) return ['possession', 'inherence'];
  return ['possession'];
}

function levelOf(events: readonly AuthenticationEvent[]): Acr {
  const passkeys = events.filter((e) => e.method === 'passkey' && e.userVerified);
  if (passkeys.some((e) => e.method === 'passkey' && e.hardwareBound)) return ACR.phishingResistantHardware;
  if (passkeys.length > 0) return ACR.phishingResistant;
  const classes = new Set(events.flatMap(classesOf));
  return classes.size >= 2 ? ACR.multiFactor : ACR.singleFactor;
}

/** acr and amr for the factors in `events` (any order) as of `options.now`. */
export function authenticationContext(events: readonly AuthenticationEvent[], options: ContextOptions): AuthenticationContext {
  if (events.length === 0) throw new TypeError('an authentication needs at least one factor');
  const sorted = [...events].sort((a, b) => a.at.getTime() - b.at.getTime());
  const maxAgeMs = options.stepUpMaxAgeSeconds * 1000;
  const first = sorted[0] as AuthenticationEvent;
  const fresh = sorted.filter((e) => options.now.getTime() - e.at.getTime() <= maxAgeMs);
  const counted = fresh.includes(first) ? fresh : [first, ...fresh];
  const acr = levelOf(counted);
  const amr = new Set<AmrValue>(counted.flatMap(amrOf));
  if (acr !== ACR.singleFactor) amr.add('mfa');
  if (options.riskAssessed) amr.add('rba');
  const baseline = levelOf([first]);
  let elevatedUntil: Date | undefined;
  if (acrRank(acr) > acrRank(baseline)) {
    // The level lasts while the factors added to the first are fresh: until the oldest of them ages out.
    // The first factor's own level (a passkey sign-in is phr) lasts for the session.
    const oldest = Math.min(...counted.filter((e) => e !== first).map((e) => e.at.getTime()));
    elevatedUntil = new Date(oldest + maxAgeMs);
  }
  return { acr, amr: [...amr], elevatedUntil };
}
