/**
 * Periodic clean-up, once across all nodes per round: expired oidc payloads, old rate-limit windows,
 * retired signing keys past their publication window.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { runExclusive } from './db/exclusive.ts';
import type { Database } from './db/schema.ts';
import { purgeCounters } from './http/rate-limit.ts';
import type { SigningKeys } from './keys/signing-keys.ts';
import { purgeExpired } from './oidc/adapter.ts';

const LOCK_KEY = 7_200_001;

export interface Maintenance {
  stop(): void;
  runOnce(): Promise<void>;
}

export function startMaintenance(
  deps: { db: Kysely<Database>; signingKeys: SigningKeys; logger: Logger },
  everyMs = 60_000,
): Maintenance {
  const runOnce = async (): Promise<void> => {
    await runExclusive(deps.db, LOCK_KEY, async (trx) => {
      const payloads = await purgeExpired(trx);
      await purgeCounters(trx, new Date(Date.now() - 10 * 60_000));
      const keys = await deps.signingKeys.purgeExpired(trx);
      if (payloads > 0 || keys > 0) deps.logger.info({ payloads, keys }, 'expired data purged');
    });
  };
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => deps.logger.warn({ err }, 'maintenance round failed'));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
