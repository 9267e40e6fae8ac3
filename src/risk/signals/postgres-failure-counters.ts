/** FailureCounters in PostgreSQL: single-statement upserts, so two nodes see the same counts. */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { accountKey, bucketOf, type AccountFailures, type FailureCounters, type SourceStats, type SourceWindows } from './failure-counters.ts';

export class PostgresFailureCounters implements FailureCounters {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async recordFailure(tenantId: string, username: string, sources: readonly string[], at: Date, resetBefore: Date): Promise<AccountFailures> {
    const [account] = await Promise.all([
      this.#db
        .insertInto('account_failures')
        .values({ tenant_id: tenantId, username: accountKey(username), consecutive: 1, first_failure_at: at, last_failure_at: at })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'username']).doUpdateSet({
            // A failure after a quiet period starts a new run.
            consecutive: sql<number>`case when account_failures.last_failure_at < ${resetBefore} then 1 else account_failures.consecutive + 1 end`,
            first_failure_at: sql<Date>`case when account_failures.last_failure_at < ${resetBefore} then excluded.first_failure_at else account_failures.first_failure_at end`,
            last_failure_at: sql<Date>`greatest(account_failures.last_failure_at, excluded.last_failure_at)`,
          }),
        )
        .returning(['consecutive', 'last_failure_at'])
        .executeTakeFirstOrThrow(),
      this.#failures(tenantId, username, sources, at),
    ]);
    return { consecutive: account.consecutive, lastFailureAt: account.last_failure_at };
  }

  /** One failure per source in the current one-minute bucket, under the account's key (spray: distinct usernames). */
  async #failures(tenantId: string, username: string, sources: readonly string[], at: Date): Promise<void> {
    if (sources.length === 0) return;
    const bucket = bucketOf(at);
    const user = accountKey(username);
    await this.#db
      .insertInto('source_attempts')
      .values(sources.map((source) => ({ tenant_id: tenantId, source, bucket_start: bucket, username: user, failures: 1 })))
      .onConflict((oc) => oc.columns(['tenant_id', 'source', 'bucket_start', 'username']).doUpdateSet({ failures: sql<number>`source_attempts.failures + 1` }))
      .execute();
  }

  async account(tenantId: string, username: string, resetBefore: Date): Promise<AccountFailures> {
    const row = await this.#db
      .selectFrom('account_failures')
      .select(['consecutive', 'last_failure_at'])
      .where('tenant_id', '=', tenantId)
      .where('username', '=', accountKey(username))
      .where('last_failure_at', '>=', resetBefore)
      .executeTakeFirst();
    return row ? { consecutive: row.consecutive, lastFailureAt: row.last_failure_at } : { consecutive: 0 };
  }

  async sources(tenantId: string, sources: readonly string[], windows: SourceWindows): Promise<SourceStats[]> {
    if (sources.length === 0) return [];
    const since = windows.spraySince < windows.throttleSince ? windows.spraySince : windows.throttleSince;
    const rows = await this.#db
      .selectFrom('source_attempts')
      .select([
        'source',
        sql<number>`coalesce(sum(failures) filter (where bucket_start >= ${windows.spraySince}), 0)::int`.as('failures'),
        sql<number>`coalesce(sum(successes) filter (where bucket_start >= ${windows.spraySince}), 0)::int`.as('successes'),
        sql<number>`count(distinct username) filter (where failures > 0 and bucket_start >= ${windows.spraySince})::int`.as('distinct_failed'),
        sql<number>`coalesce(sum(failures) filter (where bucket_start >= ${windows.throttleSince}), 0)::int`.as('recent_failures'),
      ])
      .where('tenant_id', '=', tenantId)
      .where('source', 'in', [...sources])
      .where('bucket_start', '>=', since)
      .groupBy('source')
      .execute();
    const bySource = new Map(rows.map((r) => [r.source, r]));
    return sources.map((source) => {
      const r = bySource.get(source);
      return {
        source,
        failures: r?.failures ?? 0,
        successes: r?.successes ?? 0,
        distinctUsernamesFailed: r?.distinct_failed ?? 0,
        recentFailures: r?.recent_failures ?? 0,
      };
    });
  }

  async resetAccount(tenantId: string, username: string): Promise<void> {
    await this.#db.deleteFrom('account_failures').where('tenant_id', '=', tenantId).where('username', '=', accountKey(username)).execute();
  }

  /** Retention: drops buckets and quiet accounts older than `before` in one tenant. */
  async purge(tenantId: string, before: Date): Promise<void> {
    await this.#db.deleteFrom('source_attempts').where('tenant_id', '=', tenantId).where('bucket_start', '<', before).execute();
    await this.#db.deleteFrom('account_failures').where('tenant_id', '=', tenantId).where('last_failure_at', '<', before).execute();
  }
}
