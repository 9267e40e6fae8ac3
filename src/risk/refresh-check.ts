/**
 * The risk decision at refresh-token use (protocol-free; src/oidc/refresh-risk.ts calls it). A refresh
 * cannot show a step-up page, so it is refused when the user is gone or disabled, or when the assessment
 * finds what no second factor at refresh could answer: a hard rule (compromised account, denied network or
 * country, spray source) or impossible travel since the last completed sign-in. Other signals a refresh
 * always raises (no device cookie, an HTTP library's user agent) are recorded, never acted on.
 * Travel counts only when the refresh comes from the user's own device, i.e. from a public client (a native
 * app or a browser app): a confidential client refreshes from its servers, whose location says nothing
 * about the user's (a web app hosted in Virginia refreshing for a user in Paris is not travel).
 * In report-only mode the assessment is recorded and nothing is refused (a disabled user still is).
 */
import type { UserRow } from '../db/schema.ts';
import type { UserRepository } from '../identity/user-repository.ts';
import type { Acr } from '../mfa/amr.ts';
import type { Assessment, RiskEngine } from './engine.ts';

/** Codes that make a refresh fail: they call for a new interactive sign-in (or none at all). */
const REFRESH_BLOCKERS = new Set(['impossible_travel']);

export interface RefreshAttempt {
  readonly tenantId: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly ip: string;
  readonly userAgent?: string;
  /** The acr of the sign-in the refresh token came from. */
  readonly acr?: Acr;
  /** A public client's refresh comes from the user's device: its address can be compared with sign-ins. */
  readonly fromUserDevice: boolean;
}

export type RefreshVerdict =
  /** `user`: the account as read for the check (the token endpoint needs it next). */
  | { readonly ok: true; readonly assessment: Assessment | undefined; readonly user: UserRow }
  | { readonly ok: false; readonly reason: 'user_inactive' | 'risk'; readonly assessment: Assessment | undefined };

export class RefreshRiskCheck {
  readonly #engine: RiskEngine;
  readonly #users: UserRepository;

  constructor(engine: RiskEngine, users: UserRepository) {
    this.#engine = engine;
    this.#users = users;
  }

  async check(attempt: RefreshAttempt): Promise<RefreshVerdict> {
    const user = await this.#users.findById(attempt.tenantId, attempt.accountId);
    if (!user?.active) return { ok: false, reason: 'user_inactive', assessment: undefined };
    const assessment = await this.#engine.assess({
      tenantId: attempt.tenantId,
      username: user.username,
      userId: user.id,
      ip: attempt.ip,
      userAgent: attempt.userAgent,
      device: { status: 'absent' },
      firstFactor: 'password',
      passkeyBound: false,
      clientId: attempt.clientId,
      ...(attempt.acr ? { currentAcr: attempt.acr } : {}),
    }, { purpose: 'refresh' });
    const wouldBlock =
      assessment.decision.computed.outcome === 'deny' ||
      assessment.hardRule !== undefined ||
      (attempt.fromUserDevice && assessment.contributions.some((c) => REFRESH_BLOCKERS.has(c.code) && c.points > 0));
    // Kept and audited: what blocks (or would, in report-only mode) and what the policy would not simply allow.
    if (wouldBlock || assessment.decision.computed.outcome !== 'allow') await this.#engine.recordRefresh(assessment);
    return wouldBlock && assessment.decision.enforced ? { ok: false, reason: 'risk', assessment } : { ok: true, assessment, user };
  }
}
