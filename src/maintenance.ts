/**
 * Periodic clean-up, once across all nodes per round: expired oidc payloads, old rate-limit windows,
 * retired signing keys past their publication window, and the risk engine's data past its retention.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { runExclusive } from './db/exclusive.ts';
import type { Database } from './db/schema.ts';
import { purgeCounters } from './http/rate-limit.ts';
import type { SigningKeys } from './keys/signing-keys.ts';
import { PasskeyRepository } from './mfa/passkey-repository.ts';
import { purgeExpired } from './oidc/adapter.ts';
import type { SignInHistory } from './risk/signals/history-repository.ts';
import type { PostgresFailureCounters } from './risk/signals/postgres-failure-counters.ts';

const LOCK_KEY = 7_200_001;
const DAY_MS = 86_400_000;

/**
 * Retention of risk data, in days. Sign-in history: the engine looks back 90 days (weights.ts recentDays).
 * Failure counters: the longest window read is the 24 h account reset, so two days are plenty.
 * (Assessments are audit events, kept as the audit trail is.)
 */
export const RISK_RETENTION_DAYS = { history: 90, counters: 2 } as const;

export interface SignInRetention {
  readonly history: SignInHistory;
  readonly counters: PostgresFailureCounters;
}

export interface Maintenance {
  stop(): void;
  runOnce(): Promise<void>;
}

export function startMaintenance(
  deps: { db: Kysely<Database>; signingKeys: SigningKeys; logger: Logger; signIn?: SignInRetention },
  everyMs = 60_000,
): Maintenance {
  const runOnce = async (): Promise<void> => {
    const ran = await runExclusive(deps.db, LOCK_KEY, async (trx) => {
      const payloads = await purgeExpired(trx);
      await purgeCounters(trx, new Date(Date.now() - 10 * 60_000));
      const keys = await deps.signingKeys.purgeExpired(trx);
      const challenges = await new PasskeyRepository(trx).purgeExpiredChallenges(new Date());
      if (payloads > 0 || keys > 0 || challenges > 0) deps.logger.info({ payloads, keys, challenges }, 'expired data purged');
    });
    // The risk repositories use their own connections, so they run after the locked transaction has ended
    // (inside it they would wait forever for the embedded database's single connection). Only the node
    // that won this round's lock does it; the deletes are idempotent should two overlap.
    if (ran && deps.signIn) await purgeRiskData(deps.db, deps.signIn, new Date());
  };
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => deps.logger.warn({ err }, 'maintenance round failed'));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}

/** Tenant by tenant (the tenant is the shard key); each repository deletes in one statement. */
async function purgeRiskData(db: Kysely<Database>, r: SignInRetention, now: Date): Promise<void> {
  const before = (days: number): Date => new Date(now.getTime() - days * DAY_MS);
  const tenants = await db.selectFrom('tenants').select('tenant_id').execute();
  for (const { tenant_id: tenantId } of tenants) {
    await r.history.purge(tenantId, before(RISK_RETENTION_DAYS.history));
    await r.counters.purge(tenantId, before(RISK_RETENTION_DAYS.counters));
  }
}
