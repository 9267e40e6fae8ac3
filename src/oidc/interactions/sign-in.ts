/**
 * The sign-in pipeline behind the login page, as named steps (the routes only speak HTTP):
 *
 *   gate       risk precheck: 429 throttle, progressive delay, lockout (before a password is checked;
 *              after a passkey proved who signs in, which lets a known device be spared)
 *   factor     the first factor: a password (a failure is counted for the account and its sources) or a
 *              passkey (passkey-routes.ts)
 *   assess     `afterFirstFactor`: the risk engine's decision for that first factor, tightened by the
 *              request's `acr_values`
 *   outcome    allow → finish; step-up → keep the sign-in pending server-side; deny → explain (settle.ts)
 *
 * With RISK_ENGINE=off only the first factor and the acr the app requires are checked (benchmarks).
 */
import type { PasswordAuthenticator } from '../../identity/password-authenticator.ts';
import type { UserRepository } from '../../identity/user-repository.ts';
import type { Clock } from '../../lib/clock.ts';
import type { FactorRepository } from '../../mfa/factor-repository.ts';
import { ACR, acrRank, acrSatisfies, authenticationContext, type Acr, type AmrValue, type AuthenticationEvent } from '../../mfa/amr.ts';
import type { RecoveryCodes } from '../../mfa/recovery-codes.ts';
import type { PasskeyService } from '../../mfa/webauthn.ts';
import type { Assessment, Gate, PrefetchedSignals, RiskEngine } from '../../risk/engine.ts';
import { effectivePolicy, type Decision } from '../../risk/policy.ts';
import type { DeviceVerdict, SignInAttempt } from '../../risk/types.ts';
import { strongest, type SignInPolicySource } from '../step-up-check.ts';
import type { FirstFactor, PendingSignIn } from './pending-sign-ins.ts';

export interface SignInDeps {
  /** Undefined with RISK_ENGINE=off. */
  readonly risk: RiskEngine | undefined;
  readonly authenticator: PasswordAuthenticator;
  readonly users: UserRepository;
  readonly factors: FactorRepository;
  readonly recoveryCodes: RecoveryCodes;
  readonly policies: SignInPolicySource;
  readonly passkeys: PasskeyService;
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
function withRequestedAcr(decision: Decision, requested: Acr | undefined, currentAcr: Acr): Decision {
  if (decision.outcome === 'deny' || !requested || acrSatisfies(currentAcr, requested)) return decision;
  return stepUpTo(strongest(decision.outcome === 'step-up' ? decision.acr : undefined, requested) ?? requested);
}

/** The risk gate before (password) or right after (passkey) the first factor; undefined: proceed. */
export async function gate(deps: SignInDeps, attempt: SignInAttempt): Promise<Exclude<Gate, { kind: 'proceed' }> | undefined> {
  if (!deps.risk) return undefined;
  const result = await deps.risk.precheck(attempt);
  return result.kind === 'proceed' ? undefined : result;
}

export async function passwordStep(deps: SignInDeps, a: PasswordAttempt): Promise<FirstStep> {
  const attempt = { tenantId: a.tenantId, username: a.username, ip: a.ip, userAgent: a.userAgent, device: a.device };
  let prefetched: PrefetchedSignals | undefined;
  if (deps.risk) {
    // One read for the gate, the password check's user row and, if the password is right, the assessment. A
    // valid device cookie's device is looked up for the user the typed username names (it spares a known
    // device from the lockout).
    const checked = await deps.risk.precheckSignIn(attempt);
    if (checked.gate.kind !== 'proceed') return { kind: 'gated', gate: checked.gate };
    prefetched = checked.prefetched;
  }
  // The precheck's read found the user the typed username names: the password check needs no lookup of its own.
  const result = await deps.authenticator.authenticate(a.tenantId, a.username, a.password, prefetched ? { user: prefetched.signals.user } : undefined);
  if (!result.ok) {
    await deps.risk?.recordFailure({ ...attempt, ...(result.userId ? { userId: result.userId } : {}) });
    return { kind: 'failed', reason: result.reason, userId: result.userId };
  }
  return afterFirstFactor(deps, {
    ...attempt,
    userId: result.userId,
    factor: { method: 'password' },
    clientId: a.clientId,
    requestedAcr: a.requestedAcr,
    ...(prefetched ? { prefetched } : {}),
  });
}

/** A first factor that succeeded, whichever it was: what the rest of the pipeline needs. */
export interface FirstFactorSignIn {
  readonly tenantId: string;
  readonly userId: string;
  /** As typed on the login form, or the user's username for a passkey. */
  readonly username: string;
  readonly factor: FirstFactor;
  readonly ip: string;
  readonly userAgent: string | undefined;
  readonly device: DeviceVerdict;
  readonly clientId: string | null;
  readonly requestedAcr: Acr | undefined;
  /** What the risk gate read before the password check (password sign-ins): the assessment reuses it. */
  readonly prefetched?: PrefetchedSignals;
}

export type DecidedStep = Extract<FirstStep, { kind: 'allow' | 'step-up' | 'deny' }>;

/** The authentication event of a first factor proven at `at`. */
export function eventOf(factor: FirstFactor, at: Date): AuthenticationEvent {
  return factor.method === 'password' ? { method: 'password', at } : { ...factor, at };
}

/**
 * Assesses a sign-in whose first factor succeeded and decides: allow, step-up or deny. A passkey with user
 * verification already proves `phr`/`phrh` (multi-factor, phishing-resistant), so the engine and the
 * request's `acr_values` only ask for more when they need more than that.
 */
export async function afterFirstFactor(deps: SignInDeps, s: FirstFactorSignIn): Promise<DecidedStep> {
  const firstFactorAt = deps.clock.now();
  const currentAcr = authenticationContext([eventOf(s.factor, firstFactorAt)], { now: firstFactorAt, stepUpMaxAgeSeconds: 0, riskAssessed: false }).acr;
  const base = { userId: s.userId, username: s.username, clientId: s.clientId, firstFactor: s.factor, firstFactorAt, failures: 0 };

  if (!deps.risk) {
    const policy = effectivePolicy(await deps.policies.get(s.tenantId), s.clientId ?? undefined);
    const decision = withRequestedAcr({ outcome: 'allow' }, strongest(policy.requiredAcr, s.requestedAcr), currentAcr);
    return toStep(decision, { ...base, assessment: undefined, stepUpMaxAgeSeconds: policy.stepUpMaxAgeSeconds }, APP_ASKS);
  }
  const assessment: Assessment = await deps.risk.assess({
    tenantId: s.tenantId,
    username: s.username,
    userId: s.userId,
    ip: s.ip,
    ...(s.userAgent === undefined ? {} : { userAgent: s.userAgent }),
    device: s.device,
    firstFactor: s.factor.method,
    // Only a device already recorded as passkey-bound counts (the engine looks it up from the cookie): a
    // passkey used now may live on a phone (hybrid), and complete() records the binding for next time.
    passkeyBound: false,
    currentAcr,
    ...(s.clientId ? { clientId: s.clientId } : {}),
  }, { storeLater: true, ...(s.prefetched ? { prefetched: s.prefetched } : {}) });
  const decision = withRequestedAcr(assessment.decision.effective, s.requestedAcr, currentAcr);
  // An allowed sign-in finishes now, and complete() writes the assessment with what it learns (one
  // statement); anything else keeps the assessment on its own before the step-up or the refusal.
  if (decision.outcome !== 'allow') await deps.risk.store(assessment);
  const reason = assessment.decision.effective.outcome === 'allow' ? undefined : assessment.reason;
  return toStep(decision, { ...base, assessment, stepUpMaxAgeSeconds: assessment.decision.stepUpMaxAgeSeconds }, reason);
}

function toStep(
  decision: Decision,
  base: Omit<PendingSignIn, 'requiredAcr' | 'factor' | 'reason'>,
  reason: string | undefined,
): DecidedStep {
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

/** Which second factors this step-up can accept for the user. */
export interface StepUpMethods {
  readonly totp: boolean;
  readonly recovery: boolean;
  readonly passkeyRequired: boolean;
  /** The user has passkeys: the page offers one (it satisfies any step-up, phishing-resistant included). */
  readonly passkeyAvailable: boolean;
}

export async function stepUpMethods(deps: SignInDeps, tenantId: string, pending: PendingSignIn): Promise<StepUpMethods> {
  const passkeys = await deps.passkeys.list(tenantId, pending.userId);
  const passkeyAvailable = passkeys.length > 0;
  if (pending.factor === 'phishing-resistant') return { totp: false, recovery: false, passkeyRequired: true, passkeyAvailable };
  const [totp, remaining] = await Promise.all([
    deps.factors.findActive(tenantId, pending.userId, 'totp'),
    deps.recoveryCodes.remaining(tenantId, pending.userId),
  ]);
  return { totp: totp !== undefined, recovery: remaining > 0, passkeyRequired: false, passkeyAvailable };
}

export interface LoginOutcome {
  readonly acr: Acr;
  readonly amr: AmrValue[];
}

/** acr/amr of what really happened; undefined when that does not reach what the sign-in requires. */
export function loginOutcome(deps: SignInDeps, pending: PendingSignIn, second: AuthenticationEvent | undefined): LoginOutcome | undefined {
  const events: AuthenticationEvent[] = [eventOf(pending.firstFactor, pending.firstFactorAt), ...(second ? [second] : [])];
  const context = authenticationContext(events, {
    now: deps.clock.now(),
    stepUpMaxAgeSeconds: pending.stepUpMaxAgeSeconds,
    riskAssessed: pending.assessment !== undefined,
  });
  if (!acrSatisfies(context.acr, pending.requiredAcr)) return undefined;
  return { acr: context.acr, amr: [...context.amr] };
}
