/**
 * The risk engine: protocol-free. The interaction layer passes the sign-in as data and acts on the answer.
 *
 *   precheck(attempt)      before checking a password: 429 throttles, progressive delay, lockout
 *   recordFailure(attempt) after a wrong password: counts it for the account and its sources
 *   assess(context)        after a first factor succeeded: signals → score → level → policy decision;
 *                          stored, and audited as `risk.assessment`
 *   complete(assessment)   after the whole sign-in (step-up included) succeeded: learns the sign-in,
 *                          records the device, returns the device cookie to set
 */
import type { AuditLog } from '../audit/audit-log.ts';
import type { CombinedWrite } from '../db/combined-writes.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { ACR, type Acr } from '../mfa/amr.ts';
import type { AssessmentRepository } from './assessment-repository.ts';
import type { DeviceCookies } from './device-cookie.ts';
import type { GeoLocation, GeoLocator } from './geo.ts';
import { lockoutGate, type Gate } from './lockout.ts';
import { networkListOf, networkOf, normalizeIp } from './network.ts';
import { decide, effectivePolicy, type PolicyDecision, type SignInPolicy } from './policy.ts';
import type { PolicyRepository } from './policy-repository.ts';
import { reasonFor } from './reasons.ts';
import { RULES } from './rules/index.ts';
import { scoreOf, type HardRuleHit } from './scoring.ts';
import type { DeviceRecord, DeviceRepository } from './signals/device-repository.ts';
import type { FailureCounters } from './signals/failure-counters.ts';
import type { SignInHistory } from './signals/history-repository.ts';
import type { DeviceLookup, Learned, Signals } from './signals/sign-in-statements.ts';
import type { SuccessTally } from './signals/success-tally.ts';
import type { Contribution, RiskFacts, RiskLevel, Rule, SignInAttempt, SignInContext } from './types.ts';
import { userAgentFamily } from './user-agent.ts';
import { DEFAULT_WEIGHTS, THRESHOLDS, type Weights } from './weights.ts';

export type { Gate } from './lockout.ts';

export interface RiskEngineDeps {
  readonly geo: GeoLocator;
  readonly policies: PolicyRepository;
  readonly history: SignInHistory;
  readonly devices: DeviceRepository;
  readonly counters: FailureCounters;
  /** Successful first factors per source (the denominator of failure ratios), tallied and flushed. */
  readonly successes: SuccessTally;
  readonly assessments: AssessmentRepository;
  readonly audit: AuditLog;
  readonly deviceCookies: DeviceCookies;
  readonly clock: Clock;
  readonly weights?: Partial<Weights>;
  readonly rules?: readonly Rule[];
}

const PREFETCHED = Symbol('prefetched signals');

/** How long signals read by precheckSignIn may stand in for assess's own read (a password check's time). */
const PREFETCH_MAX_AGE_MS = 10_000;

/** What precheckSignIn read, for assess to reuse; only the engine makes one. */
export interface PrefetchedSignals {
  readonly [PREFETCHED]: true;
  readonly tenantId: string;
  readonly username: string;
  /** The address's place (network, location, sources): assess looks it up again only for another address. */
  readonly place: Place;
  readonly device: DeviceLookup | undefined;
  readonly trusted: boolean;
  readonly at: Date;
  readonly signals: Signals;
}

/**
 * Whether the prefetched device lookup is the one `assess` would make for `userId`: the same cookie, for the
 * same user (a lookup by the typed username found the user the prefetched signals name; the caller checks
 * that this is `userId`).
 */
function sameDevice(prefetched: DeviceLookup | undefined, now: DeviceLookup | undefined, userId: string): boolean {
  if (prefetched?.deviceId !== now?.deviceId) return false;
  return prefetched === undefined || !('userId' in prefetched) || prefetched.userId === userId;
}

export interface Assessment {
  readonly id: string;
  readonly at: Date;
  readonly context: SignInContext;
  readonly ip: string;
  readonly network: string;
  readonly location: GeoLocation | undefined;
  readonly level: RiskLevel;
  readonly score: number;
  readonly contributions: readonly Contribution[];
  readonly hardRule: HardRuleHit | undefined;
  readonly decision: PolicyDecision;
  /** For the user: plain language, no scores. */
  readonly reason: string;
  /** Whether the account had a failure run when assessed (complete() then resets it). */
  readonly failureRun: boolean;
}

export interface FailureResult {
  readonly consecutiveFailures: number;
  /** What the next attempt on this account will meet. */
  readonly next: Gate;
}

export interface Completion {
  readonly deviceId: string;
  /** The signed device cookie value to set (name and attributes from DeviceCookies). */
  readonly deviceCookie: string;
}

interface Place {
  readonly ip: string;
  readonly network: string;
  readonly location: GeoLocation | undefined;
  readonly sources: string[];
}

export class RiskEngine {
  readonly #d: RiskEngineDeps;
  readonly #weights: Weights;
  readonly #rules: readonly Rule[];
  /** Sign-in assessments not written yet (`storeLater`): what `store` or `complete` will write for them. */
  readonly #unstored = new WeakMap<Assessment, { readonly mode: SignInPolicy['mode']; readonly successSources: readonly string[] }>();

  constructor(deps: RiskEngineDeps) {
    this.#d = deps;
    this.#weights = { ...DEFAULT_WEIGHTS, ...deps.weights };
    this.#rules = deps.rules ?? RULES;
  }

  async precheck(attempt: SignInAttempt): Promise<Gate> {
    return (await this.#precheck(attempt, false)).gate;
  }

  /**
   * `precheck` for a password sign-in: its one read also takes what `assess` will need (every source, and
   * the profile and recent sign-ins of the user the typed username names), handed back as `prefetched` for
   * `assess` to reuse. The password check in between changes none of it; only a concurrent attempt on the
   * same account or address in those milliseconds is not seen, as it would not have been a moment earlier.
   */
  async precheckSignIn(attempt: SignInAttempt): Promise<{ readonly gate: Gate; readonly prefetched: PrefetchedSignals }> {
    const { gate, signals, place, trusted, at } = await this.#precheck(attempt, true);
    const prefetched = { [PREFETCHED]: true as const, tenantId: attempt.tenantId, username: attempt.username, place, device: deviceOf(attempt), trusted, at, signals };
    return { gate, prefetched };
  }

  /** The gate and what it was decided on; with `forAssess`, the read covers what `assess` needs too. */
  async #precheck(attempt: SignInAttempt, forAssess: boolean): Promise<{ gate: Gate; signals: Signals; place: Place; trusted: boolean; at: Date }> {
    const now = this.#d.clock.now();
    const [policy, place] = await Promise.all([this.#d.policies.get(attempt.tenantId), this.#place(attempt.ip)]);
    const trusted = networkListOf(policy.trustedNetworks).has(place.ip);
    // One round trip: the account's run, the IP and network windows, the device of a valid cookie.
    const signals = await this.#d.assessments.signals({
      tenantId: attempt.tenantId,
      username: attempt.username,
      resetBefore: this.#resetBefore(now),
      sources: trusted ? [] : forAssess ? place.sources : place.sources.slice(0, 2),
      windows: this.#windows(now),
      device: deviceOf(attempt),
      ...(forAssess ? { history: this.#history({ username: attempt.username }, now) } : {}),
    });
    return { gate: this.#gate(signals, policy, now), signals, place, trusted, at: now };
  }

  #gate({ account, sources, knownDevice }: Signals, policy: SignInPolicy, now: Date): Gate {
    const s = THRESHOLDS.sources;
    const [ip, net] = sources;
    if (ip && ip.recentFailures >= s.throttlePerIp) return { kind: 'throttled', scope: 'ip', retryAfterSeconds: 60 };
    if (net && net.recentFailures >= s.throttlePerNetwork) return { kind: 'throttled', scope: 'network', retryAfterSeconds: 60 };
    return lockoutGate(account, policy.lockout, now, knownDevice !== undefined);
  }

  async recordFailure(attempt: SignInAttempt): Promise<FailureResult> {
    const now = this.#d.clock.now();
    const [policy, place] = await Promise.all([this.#d.policies.get(attempt.tenantId), this.#place(attempt.ip)]);
    const trusted = networkListOf(policy.trustedNetworks).has(place.ip);
    const [account, device] = await Promise.all([
      this.#d.counters.recordFailure(attempt.tenantId, attempt.username, trusted ? [] : place.sources, now, this.#resetBefore(now)),
      this.#knownDevice(attempt),
    ]);
    return { consecutiveFailures: account.consecutive, next: lockoutGate(account, policy.lockout, now, device !== undefined) };
  }

  /**
   * `purpose: 'refresh'` (a refresh-token use, src/risk/refresh-check.ts) writes nothing: clients refresh
   * often and the refresh's `token.issued` event records it, so the caller keeps (`recordRefresh`) only the
   * assessments that matter; and a refresh never counts as a source success (it proves no password, and
   * counting it would let a token holder dilute the stuffing ratio of its address).
   */
  async assess(
    context: SignInContext,
    options: {
      /** From `precheckSignIn` for this sign-in: used when it is about the same user, address and device. */
      readonly prefetched?: PrefetchedSignals;
      readonly purpose?: 'sign-in' | 'refresh';
      /**
       * Sign-in only: write the assessment later, with `complete` (one statement for both: the allowed
       * sign-in that finishes at once) or with `store` (anything else). The caller must call one of them.
       */
      readonly storeLater?: boolean;
    } = {},
  ): Promise<Assessment> {
    const d = this.#d;
    const now = d.clock.now();
    const p = options.prefetched;
    const ip = normalizeIp(context.ip);
    const [tenantPolicy, place] = await Promise.all([d.policies.get(context.tenantId), p?.place.ip === ip ? p.place : this.#place(ip)]);
    const policy = effectivePolicy(tenantPolicy, context.clientId);
    const trusted = networkListOf(policy.trustedNetworks).has(place.ip);
    // One round trip for every stored signal (none when precheckSignIn read them for this very sign-in);
    // a trusted address is exempt from source counters.
    const reusable =
      p !== undefined &&
      p.tenantId === context.tenantId &&
      p.username === context.username &&
      p.signals.userId === context.userId &&
      p.place.ip === place.ip &&
      p.trusted === trusted &&
      sameDevice(p.device, deviceOf(context), context.userId) &&
      now.getTime() - p.at.getTime() <= PREFETCH_MAX_AGE_MS;
    const { profile, recent, knownDevice, account, sources } = reusable
      ? p.signals
      : await d.assessments.signals({
          tenantId: context.tenantId,
          username: context.username,
          resetBefore: this.#resetBefore(now),
          sources: trusted ? [] : place.sources,
          windows: this.#windows(now),
          device: deviceOf(context),
          history: this.#history({ id: context.userId }, now),
        });
    const facts: RiskFacts = {
      now,
      context,
      ip: place.ip,
      network: place.network,
      location: place.location,
      policy,
      profile,
      learning: isLearning(profile.signIns, profile.firstSignInAt, policy.learning, now),
      knownDevice,
      recent,
      account,
      sources,
      weights: this.#weights,
    };
    const contributions = this.#rules.flatMap((rule) => rule(facts));
    const { score, level, hardRule } = scoreOf(contributions, policy.levels);
    const currentAcr: Acr = context.currentAcr ?? (context.firstFactor === 'passkey' ? ACR.phishingResistant : ACR.singleFactor);
    const decision = decide(tenantPolicy, { clientId: context.clientId, level, hardRule, currentAcr });
    const assessment: Assessment = {
      id: newId(),
      at: now,
      context,
      ip: place.ip,
      network: place.network,
      location: place.location,
      level,
      score,
      contributions,
      hardRule,
      decision,
      reason: reasonFor(decision.computed, contributions, hardRule?.code),
      failureRun: account.consecutive > 0,
    };
    if (options.purpose === 'refresh') return assessment;
    const successSources = trusted ? [] : place.sources;
    if (options.storeLater) this.#unstored.set(assessment, { mode: policy.mode, successSources });
    else await this.#store(assessment, policy.mode, successSources);
    return assessment;
  }

  /** Writes a sign-in assessment made with `storeLater` (no-op once written). */
  async store(assessment: Assessment): Promise<void> {
    const unstored = this.#unstored.get(assessment);
    if (!unstored) return;
    this.#unstored.delete(assessment);
    await this.#store(assessment, unstored.mode, unstored.successSources);
  }

  /** Stores and audits a refresh's assessment (see `assess`), without source success counts. */
  async recordRefresh(assessment: Assessment): Promise<void> {
    const policy = effectivePolicy(await this.#d.policies.get(assessment.context.tenantId), assessment.context.clientId);
    await this.#store(assessment, policy.mode, []);
  }

  /** After the sign-in fully succeeded: learn it, record the device, hand back the device cookie. */
  async complete(assessment: Assessment, options: { readonly passkeyBound?: boolean } = {}): Promise<Completion> {
    if (assessment.decision.effective.outcome === 'deny') throw new TypeError('a denied sign-in cannot complete');
    const d = this.#d;
    const { context, location } = assessment;
    const at = d.clock.now();
    const deviceId = context.device.status === 'valid' ? context.device.deviceId : d.deviceCookies.newDeviceId();
    // One statement: device upsert, history row, profile count and the failure run's reset when there is one (all
    // or nothing). For an assessment made with `storeLater`, its audit event (the stored assessment) carries them:
    // no round trip of their own, the audit group commit's statement writes both.
    const unstored = this.#unstored.get(assessment);
    this.#unstored.delete(assessment);
    const learning: Learned = {
      tenantId: context.tenantId,
      userId: context.userId,
      username: context.username,
      historyId: newId(),
      // The run the assessment saw; and after a step-up (assessment stored before it), whatever failed since.
      resetFailures: assessment.failureRun || !unstored,
      assessmentId: assessment.id,
      sighting: {
        id: deviceId,
        at,
        userAgentFamily: userAgentFamily(context.userAgent),
        ip: assessment.ip,
        network: assessment.network,
        passkeyBound: options.passkeyBound ?? context.passkeyBound,
      },
      record: {
        at,
        ip: assessment.ip,
        network: assessment.network,
        asn: location?.asn,
        country: location?.country,
        latitude: location?.latitude,
        longitude: location?.longitude,
        accuracyKm: location?.accuracyKm,
        deviceId,
      },
    };
    if (unstored) {
      d.successes.add(context.tenantId, unstored.successSources, assessment.at);
      await this.#audit(assessment, unstored.mode, d.assessments.learnWrite(learning));
    } else await d.assessments.learn(learning);
    return { deviceId, deviceCookie: d.deviceCookies.issue(context.tenantId, deviceId) };
  }

  /** The assessment is its audit event (a share of a group commit); the successes are tallied. */
  async #store(a: Assessment, mode: SignInPolicy['mode'], successSources: readonly string[]): Promise<void> {
    this.#d.successes.add(a.context.tenantId, successSources, a.at);
    await this.#audit(a, mode);
  }

  #audit(a: Assessment, mode: SignInPolicy['mode'], carried?: CombinedWrite): Promise<unknown> {
    const { context } = a;
    return this.#d.audit.record(context.tenantId, {
      type: 'risk.assessment',
      actor: `user:${context.userId}`,
      subject: `user:${context.userId}`,
      ip: a.ip,
      details: {
        assessmentId: a.id,
        level: a.level,
        score: a.score,
        contributions: a.contributions,
        policyRule: a.decision.policyRule,
        outcome: a.decision.computed.outcome,
        ...(a.decision.computed.outcome === 'step-up' ? { stepUp: a.decision.computed.factor, acr: a.decision.computed.acr } : {}),
        enforced: a.decision.enforced,
        mode,
        clientId: context.clientId ?? null,
        country: a.location?.country ?? null,
      },
    }, carried);
  }

  #history(user: { readonly id: string } | { readonly username: string }, now: Date) {
    return { user, limit: THRESHOLDS.recentSignIns, since: new Date(now.getTime() - THRESHOLDS.recentDays * 86_400_000) };
  }

  async #place(rawIp: string): Promise<Place> {
    const ip = normalizeIp(rawIp);
    const network = networkOf(ip) ?? ip;
    const location = await this.#d.geo.locate(ip);
    const sources = [`ip:${ip}`, `net:${network}`, ...(location?.asn === undefined ? [] : [`asn:${location.asn}`])];
    return { ip, network, location, sources };
  }

  /** The device record when the cookie is valid and this user completed a sign-in on it. */
  async #knownDevice(attempt: SignInAttempt): Promise<DeviceRecord | undefined> {
    if (attempt.device.status !== 'valid' || !attempt.userId) return undefined;
    return this.#d.devices.find(attempt.tenantId, attempt.userId, attempt.device.deviceId);
  }

  #resetBefore(now: Date): Date {
    return new Date(now.getTime() - THRESHOLDS.failures.resetAfterSeconds * 1000);
  }

  #windows(now: Date): { spraySince: Date; throttleSince: Date } {
    const s = THRESHOLDS.sources;
    return {
      spraySince: new Date(now.getTime() - s.sprayWindowMinutes * 60_000),
      throttleSince: new Date(now.getTime() - s.throttleWindowMinutes * 60_000),
    };
  }
}

/** The device of a valid cookie: for the user when known, else for the user the typed username names. */
function deviceOf(attempt: SignInAttempt): DeviceLookup | undefined {
  if (attempt.device.status !== 'valid') return undefined;
  const deviceId = attempt.device.deviceId;
  return attempt.userId ? { userId: attempt.userId, deviceId } : { username: attempt.username, deviceId };
}

/** Novelty is learned during the first `signIns` sign-ins or `days` days, whichever ends first. */
export function isLearning(signIns: number, firstSignInAt: Date | undefined, learning: SignInPolicy['learning'], now: Date): boolean {
  if (signIns >= learning.signIns) return false;
  return !firstSignInAt || now.getTime() - firstSignInAt.getTime() < learning.days * 86_400_000;
}
