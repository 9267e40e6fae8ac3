/**
 * Step-up enforcement inside oidc-provider's interaction policy: a Check added to the `login` prompt, so
 * every authorization request (OIDC, and SAML through its internal authorization) passes it and an existing
 * session cannot skip a required step-up. It asks for a new sign-in when the session's acr, as of now, is
 * below what is required:
 *   - the client's or tenant's `requiredAcr` in the sign-in policy;
 *   - `acr_values` in the request, treated as essential: the session must reach the weakest listed value
 *     Portcullis knows (RFC 9470: a client answered `insufficient_user_authentication` sends them again).
 * A level above the first factor's lasts `stepUpMaxAgeSeconds` after the sign-in (src/mfa/amr.ts); past that
 * the session counts as what its first factor proves. `max_age` is oidc-provider's own `max_age` check.
 * @see https://www.rfc-editor.org/rfc/rfc9470#section-4
 */
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR, ACR_VALUES, acrRank, acrSatisfies, type Acr } from '../mfa/amr.ts';
import { effectivePolicy, type SignInPolicy } from '../risk/policy.ts';

export const STEP_UP_CHECK = 'acr_step_up';

export interface SignInPolicySource {
  get(tenantId: string): Promise<SignInPolicy>;
}

export function isAcr(value: unknown): value is Acr {
  return typeof value === 'string' && (ACR_VALUES as readonly string[]).includes(value);
}

/** The weakest known value of a space-separated `acr_values`, or undefined (none, or none we know). */
export function requestedAcr(acrValues: unknown): Acr | undefined {
  if (typeof acrValues !== 'string') return undefined;
  const known = acrValues.split(' ').filter(isAcr);
  return known.sort((a, b) => acrRank(a) - acrRank(b))[0];
}

export function strongest(...acrs: (Acr | undefined)[]): Acr | undefined {
  return acrs.filter((a) => a !== undefined).sort((a, b) => acrRank(b) - acrRank(a))[0];
}

/** What a session proves at `nowMs`: its acr while fresh, its first factor's level once the step-up aged out. */
export function sessionAcrNow(session: { acr?: string; amr?: string[]; loginTs?: number }, maxAgeSeconds: number, nowMs: number): Acr {
  const acr = isAcr(session.acr) ? session.acr : ACR.singleFactor;
  // With a password first factor the baseline is single-factor; a passkey-first session keeps its level.
  const baseline = session.amr?.includes('pwd') ? ACR.singleFactor : acr;
  if (acr === baseline) return acr;
  const elevatedUntilMs = ((session.loginTs ?? 0) + maxAgeSeconds) * 1000;
  return nowMs <= elevatedUntilMs ? acr : baseline;
}

/** oidc-provider's default prompts with the step-up check added to `login`. */
export function interactionPolicyWithStepUp(
  tenantId: string,
  policies: SignInPolicySource,
  now: () => number = Date.now,
): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  const login = policy.get('login');
  if (!login) throw new TypeError('oidc-provider has no login prompt');
  login.checks.add(
    new interactionPolicy.Check(STEP_UP_CHECK, 'a stronger or more recent authentication is required', async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      const session = oidc.session;
      if (!session?.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      // A sign-in finished in this very interaction already met the requirement (the interaction refuses
      // to finish one that does not).
      if (oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const clientId = oidc.client?.clientId;
      const effective = effectivePolicy(await policies.get(tenantId), clientId);
      const required = strongest(effective.requiredAcr, requestedAcr(oidc.params?.acr_values));
      if (!required) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const have = sessionAcrNow(session, effective.stepUpMaxAgeSeconds, now());
      return acrSatisfies(have, required) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}
