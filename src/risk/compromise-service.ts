/**
 * An administrator marks an account compromised (or clears the mark). While marked, the risk engine's hard
 * rule denies every sign-in and refresh (src/risk/rules/compromised.ts); marking also ends everything the
 * account holds right away, through the same identity event as a deactivation (back-channel logout,
 * revocation, CAEP session-revoked event).
 */
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityEvents } from '../identity/identity-events.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import type { Clock } from '../lib/clock.ts';
import type { SignInHistory } from './signals/history-repository.ts';

export interface CompromiseMark {
  readonly compromised: boolean;
  readonly reason?: string | null;
}

export class CompromiseService {
  readonly #history: SignInHistory;
  readonly #audit: AuditLog;
  readonly #events: IdentityEvents;
  readonly #clock: Clock;

  constructor(history: SignInHistory, audit: AuditLog, events: IdentityEvents, clock: Clock) {
    this.#history = history;
    this.#audit = audit;
    this.#events = events;
    this.#clock = clock;
  }

  async set(tenantId: string, userId: string, mark: CompromiseMark, ctx: ChangeContext): Promise<CompromiseMark> {
    const reason = mark.reason ?? null;
    if (mark.compromised) await this.#history.markCompromised(tenantId, userId, this.#clock.now(), reason);
    else await this.#history.clearCompromised(tenantId, userId);
    await this.#audit.record(tenantId, {
      type: mark.compromised ? 'user.marked_compromised' : 'user.compromise_cleared',
      actor: ctx.actor,
      subject: `user:${userId}`,
      ip: ctx.ip ?? null,
      details: { reason },
    });
    if (mark.compromised) await this.#events.emit({ type: 'user.compromised', tenantId, userId, actor: ctx.actor });
    return { compromised: mark.compromised, reason };
  }
}
