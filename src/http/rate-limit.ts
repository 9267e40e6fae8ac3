/**
 * Fixed-window rate limits shared by every node: counters live in Redis when configured, in PostgreSQL
 * otherwise. One atomic statement per hit (INCR, or INSERT … ON CONFLICT DO UPDATE … RETURNING), never a
 * read-check-write in JavaScript.
 */
import type { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { TooManyRequests } from '../lib/errors.ts';

export interface CounterStore {
  /** Adds one hit to the window starting at `windowStart` and returns the window's total. */
  increment(tenantId: string, bucket: string, windowStart: Date, windowSeconds: number): Promise<number>;
}

export class PostgresCounterStore implements CounterStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async increment(tenantId: string, bucket: string, windowStart: Date): Promise<number> {
    const row = await this.#db
      .insertInto('rate_limit_counters')
      .values({ tenant_id: tenantId, bucket, window_start: windowStart, hits: 1 })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'bucket', 'window_start']).doUpdateSet({ hits: sql<number>`rate_limit_counters.hits + 1` }),
      )
      .returning('hits')
      .executeTakeFirstOrThrow();
    return row.hits;
  }
}

/** Removes PostgreSQL counter windows that started before `before`. */
export async function purgeCounters(db: Kysely<Database>, before: Date): Promise<void> {
  await db.deleteFrom('rate_limit_counters').where('window_start', '<', before).execute();
}

export class RedisCounterStore implements CounterStore {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async increment(tenantId: string, bucket: string, windowStart: Date, windowSeconds: number): Promise<number> {
    const key = `portcullis:rl:${tenantId}:${bucket}:${windowStart.getTime()}`;
    const result = await this.#redis.multi().incr(key).expire(key, windowSeconds * 2).exec();
    const [err, hits] = result?.[0] ?? [new Error('no reply from redis'), 0];
    if (err) throw err;
    return Number(hits);
  }
}

export interface Limit {
  readonly limit: number;
  readonly windowSeconds: number;
}

export class RateLimiter {
  readonly #store: CounterStore;
  readonly #now: () => number;

  constructor(store: CounterStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** Counts a hit; throws TooManyRequests (with the seconds until the window ends) past the limit. */
  async hit(tenantId: string, bucket: string, { limit, windowSeconds }: Limit): Promise<void> {
    const now = this.#now();
    const windowMs = windowSeconds * 1000;
    const start = Math.floor(now / windowMs) * windowMs;
    const hits = await this.#store.increment(tenantId, bucket, new Date(start), windowSeconds);
    if (hits > limit) {
      throw new TooManyRequests(Math.max(1, Math.ceil((start + windowMs - now) / 1000)));
    }
  }
}
