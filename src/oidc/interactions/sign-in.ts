/**
 * The sign-in pipeline behind the login form, as named steps (the routes only speak HTTP):
 *
 *   gate       risk precheck before the password: 429 throttle, progressive delay, lockout
 *   password   the first factor; a failure is counted for the account and its sources
 *   assess     the risk engine's decision, tightened by the request's `acr_values`
 *   outcome    allow → finish; step-up → keep the sign-in pending server-side; deny → explain
 *
 * With RISK_ENGINE=off only the password and the acr the app requires are checked (benchmarks).
 */
import type { PasswordAuthenticator } from '../../identity/password-authenticator.ts';
import type { UserRepository } from '../../identity/user-repository.ts';
import type { Clock } from '../../lib/clock.ts';
import type { FactorRepository } from '../../mfa/factor-repository.ts';
import { ACR, acrRank, acrSatisfies, authenticationContext, type Acr, type AmrValue, type AuthenticationEvent } from '../../mfa/amr.ts';
import type { RecoveryCodes } from '../../mfa/recovery-codes.ts';
import type { Assessment, Gate, RiskEngine } from '../../risk/engine.ts';
import { effectivePolicy, type Decision } from '../../risk/policy.ts';
import type { DeviceVerdict } from '../../risk/types.ts';
import { strongest, type SignInPolicySource } from '../step-up-check.ts';
import type { PendingSignIn } from './pending-sign-ins.ts';

export interface SignInDeps {
  /** Undefined with RISK_ENGINE=off. */
  readonly risk: RiskEngine | undefined;
  readonly authenticator: PasswordAuthenticator;
  readonly users: UserRepository;
  readonly factors: FactorRepository;
  readonly recoveryCodes: RecoveryCodes;
  readonly policies: SignInPolicySource;
  readonly clock: Clock;
}

export interface PasswordAttempt {
  readonly tenantId: string;
  readonly username: string;
  readonly password: string;
  readonly ip: string;
  readonly userAgent: string | undefined;
  readonly device: DeviceVerdict;
  readonly clientId: string | null;
  /** The weakest known acr of the request's `acr_values` (treated as essential). */
  readonly requestedAcr: Acr | undefined;
}

export type FirstStep =
  | { readonly kind: 'gated'; readonly gate: Exclude<Gate, { kind: 'proceed' }> }
  | { readonly kind: 'failed'; readonly reason: string; readonly userId: string | undefined }
  | { readonly kind: 'allow'; readonly pending: PendingSignIn }
  | { readonly kind: 'step-up'; readonly pending: PendingSignIn }
  | { readonly kind: 'deny'; readonly pending: PendingSignIn };

const APP_ASKS = "The application asks you to confirm it's you with a second factor.";
const APP_ASKS_PASSKEY = "The application asks you to confirm it's you with a passkey or security key.";

/** The step-up `acr` needs: a phishing-resistant factor from `phr` up, any second factor below. */
function stepUpTo(acr: Acr): Decision {
  return { outcome: 'step-up', factor: acrRank(acr) >= acrRank(ACR.phishingResistant) ? 'phishing-resistant' : 'any', acr };
}

/** The engine's decision, made stricter by what the request itself asks for. */
function withRequestedAcr(decision: Decision, requested: Acr | undefined): Decision {
  if (decision.outcome === 'deny' || !requested || acrSatisfies(ACR.singleFactor, requested)) return decision;
  return stepUpTo(strongest(decision.outcome === 'step-up' ? decision.acr : undefined, requested) ?? requested);
}

export async function passwordStep(deps: SignInDeps, a: PasswordAttempt): Promise<FirstStep> {
  const attempt = { tenantId: a.tenantId, username: a.username, ip: a.ip, userAgent: a.userAgent, device: a.device };
  if (deps.risk) {
    // The user id only matters to spare a known device from the lockout: look it up only then.
    const userId = a.device.status === 'valid' ? (await deps.users.findByUsername(a.tenantId, a.username))?.id : undefined;
    const gate = await deps.risk.precheck({ ...attempt, ...(userId ? { userId } : {}) });
    if (gate.kind !== 'proceed') return { kind: 'gated', gate };
  }
  const result = await deps.authenticator.authenticate(a.tenantId, a.username, a.password);
  if (!result.ok) {
    await deps.risk?.recordFailure({ ...attempt, ...(result.userId ? { userId: result.userId } : {}) });
    return { kind: 'failed', reason: result.reason, userId: result.userId };
  }
  const firstFactorAt = deps.clock.now();
  const base = { userId: result.userId, username: a.username, clientId: a.clientId, firstFactorAt, failures: 0 };

  if (!deps.risk) {
    const policy = effectivePolicy(await deps.policies.get(a.tenantId), a.clientId ?? undefined);
    const decision = withRequestedAcr({ outcome: 'allow' }, strongest(policy.requiredAcr, a.requestedAcr));
    return toStep(decision, { ...base, assessment: undefined, stepUpMaxAgeSeconds: policy.stepUpMaxAgeSeconds }, APP_ASKS);
  }
  const assessment: Assessment = await deps.risk.assess({
    ...attempt,
    userId: result.userId,
    firstFactor: 'password',
    passkeyBound: false,
    ...(a.clientId ? { clientId: a.clientId } : {}),
  });
  const decision = withRequestedAcr(assessment.decision.effective, a.requestedAcr);
  const reason = assessment.decision.effective.outcome === 'allow' ? undefined : assessment.reason;
  return toStep(decision, { ...base, assessment, stepUpMaxAgeSeconds: assessment.decision.stepUpMaxAgeSeconds }, reason);
}

function toStep(
  decision: Decision,
  base: Omit<PendingSignIn, 'requiredAcr' | 'factor' | 'reason'>,
  reason: string | undefined,
): FirstStep {
  switch (decision.outcome) {
    case 'allow':
      return { kind: 'allow', pending: { ...base, requiredAcr: ACR.singleFactor, factor: 'any', reason: 'Signed in.' } };
    case 'deny':
      return { kind: 'deny', pending: { ...base, requiredAcr: ACR.singleFactor, factor: 'any', reason: reason ?? 'We could not let you sign in.' } };
    case 'step-up': {
      const fallback = decision.factor === 'phishing-resistant' ? APP_ASKS_PASSKEY : APP_ASKS;
      return { kind: 'step-up', pending: { ...base, requiredAcr: decision.acr, factor: decision.factor, reason: reason ?? fallback } };
    }
  }
}

/** Which second factors this step-up can accept for the user. Passkeys: not yet (the extension point). */
export interface StepUpMethods {
  readonly totp: boolean;
  readonly recovery: boolean;
  readonly passkeyRequired: boolean;
  readonly passkeyAvailable: boolean;
}

export async function stepUpMethods(deps: SignInDeps, tenantId: string, pending: PendingSignIn): Promise<StepUpMethods> {
  if (pending.factor === 'phishing-resistant') return { totp: false, recovery: false, passkeyRequired: true, passkeyAvailable: false };
  const [totp, remaining] = await Promise.all([
    deps.factors.findActive(tenantId, pending.userId, 'totp'),
    deps.recoveryCodes.remaining(tenantId, pending.userId),
  ]);
  return { totp: totp !== undefined, recovery: remaining > 0, passkeyRequired: false, passkeyAvailable: false };
}

export interface LoginOutcome {
  readonly acr: Acr;
  readonly amr: AmrValue[];
}

/** acr/amr of what really happened; undefined when that does not reach what the sign-in requires. */
export function loginOutcome(deps: SignInDeps, pending: PendingSignIn, second: AuthenticationEvent | undefined): LoginOutcome | undefined {
  const events: AuthenticationEvent[] = [{ method: 'password', at: pending.firstFactorAt }, ...(second ? [second] : [])];
  const context = authenticationContext(events, {
    now: deps.clock.now(),
    stepUpMaxAgeSeconds: pending.stepUpMaxAgeSeconds,
    riskAssessed: pending.assessment !== undefined,
  });
  if (!acrSatisfies(context.acr, pending.requiredAcr)) return undefined;
  return { acr: context.acr, amr: [...context.amr] };
}
