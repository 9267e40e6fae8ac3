/**
 * Fixed-window rate limits shared by every node: counters live in Redis when configured, in PostgreSQL
 * otherwise, and change only through one atomic statement (INCRBY, or INSERT … ON CONFLICT DO UPDATE …
 * RETURNING), never a read-check-write in JavaScript.
 *
 * Small limits (login attempts per IP) are counted exactly: one atomic increment per hit. Large limits
 * (thousands of token requests per client per minute) would make every request of a busy client queue on
 * one counter row, so each node counts them in memory and adds its hits to the shared counter every
 * FLUSH_MS in one statement; within the last tenth of the limit it counts every hit exactly again. The
 * overshoot is therefore bounded by what the other nodes accept in one flush interval.
 */
import type { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { TooManyRequests } from '../lib/errors.ts';

export interface CounterStore {
  /** Adds `by` hits to the window starting at `windowStart` and returns the window's total. */
  increment(tenantId: string, bucket: string, windowStart: Date, windowSeconds: number, by?: number): Promise<number>;
}

export class PostgresCounterStore implements CounterStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async increment(tenantId: string, bucket: string, windowStart: Date, _windowSeconds?: number, by = 1): Promise<number> {
    const row = await this.#db
      .insertInto('rate_limit_counters')
      .values({ tenant_id: tenantId, bucket, window_start: windowStart, hits: by })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'bucket', 'window_start']).doUpdateSet({ hits: sql<number>`rate_limit_counters.hits + ${by}` }),
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

  async increment(tenantId: string, bucket: string, windowStart: Date, windowSeconds: number, by = 1): Promise<number> {
    const key = `portcullis:rl:${tenantId}:${bucket}:${windowStart.getTime()}`;
    const result = await this.#redis.multi().incrby(key, by).expire(key, windowSeconds * 2).exec();
    const [err, hits] = result?.[0] ?? [new Error('no reply from redis'), 0];
    if (err) throw err;
    return Number(hits);
  }
}

export interface Limit {
  readonly limit: number;
  readonly windowSeconds: number;
}

/** Limits up to this many hits per window are counted exactly, one atomic increment per hit. */
export const EXACT_LIMIT = 100;
/** Milliseconds between a node's flushes of its locally counted hits. */
export const FLUSH_MS = 100;

interface LocalWindow {
  readonly tenantId: string;
  readonly bucket: string;
  readonly start: number;
  readonly windowSeconds: number;
  /** The shared total as of this node's last statement (its own flushed hits included). */
  known: number;
  /** Hits accepted here and not yet added to the shared counter. */
  pending: number;
  /** Hits being added by the statement under way. */
  inflight: number;
  /**
   * The statement under way, if any. A window sends one statement at a time: a total that comes back while
   * another statement's hits are still counted as in flight would count those hits twice.
   */
  busy: Promise<unknown> | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class RateLimiter {
  readonly #store: CounterStore;
  readonly #now: () => number;
  readonly #windows = new Map<string, LocalWindow>();

  constructor(store: CounterStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** Counts a hit; throws TooManyRequests (with the seconds until the window ends) past the limit. */
  async hit(tenantId: string, bucket: string, { limit, windowSeconds }: Limit): Promise<void> {
    const now = this.#now();
    const windowMs = windowSeconds * 1000;
    const start = Math.floor(now / windowMs) * windowMs;
    const refuse = (): TooManyRequests => new TooManyRequests(Math.max(1, Math.ceil((start + windowMs - now) / 1000)));
    if (limit <= EXACT_LIMIT) {
      const hits = await this.#store.increment(tenantId, bucket, new Date(start), windowSeconds);
      if (hits > limit) throw refuse();
      return;
    }
    const fresh = !this.#windows.has(windowKey(tenantId, bucket, start));
    const w = this.#window(tenantId, bucket, start, windowSeconds);
    const estimate = (): number => w.known + w.inflight + w.pending + 1;
    if (estimate() > limit) throw refuse();
    if (!fresh && limit - estimate() >= limit / 10) {
      w.pending += 1;
      w.timer ??= setTimeout(() => void this.#flush(w), FLUSH_MS).unref();
      return;
    }
    // A node's first hit of a window learns what the other nodes counted; near the limit every hit goes to
    // the shared counter at once (with whatever is pending), so batching cannot overshoot there.
    await idle(w);
    if (!fresh && estimate() > limit) throw refuse();
    const hits = await this.#send(w, 1);
    if (hits > limit) throw refuse();
  }

  /** Adds every locally counted hit to the shared counters (also used on shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.#windows.values()].map((w) => this.#flush(w)));
  }

  #window(tenantId: string, bucket: string, start: number, windowSeconds: number): LocalWindow {
    const key = windowKey(tenantId, bucket, start);
    let w = this.#windows.get(key);
    if (!w) {
      this.#forgetEnded(start);
      w = { tenantId, bucket, start, windowSeconds, known: 0, pending: 0, inflight: 0, busy: undefined, timer: undefined };
      this.#windows.set(key, w);
    }
    return w;
  }

  /** Drops windows that started before `current` and hold nothing unflushed. */
  #forgetEnded(current: number): void {
    for (const [key, w] of this.#windows) {
      if (w.start < current && w.pending === 0 && !w.timer && !w.busy) this.#windows.delete(key);
    }
  }

  async #flush(w: LocalWindow): Promise<void> {
    clearTimeout(w.timer);
    w.timer = undefined;
    // One statement at a time per window; a caller arriving meanwhile waits for it, then sends what is left.
    await idle(w);
    if (w.pending === 0) return;
    try {
      await this.#send(w, 0);
    } catch {
      // The store is unreachable: the hits are pending again; try later.
      w.timer ??= setTimeout(() => void this.#flush(w), FLUSH_MS * 10).unref();
    }
  }

  /** Adds the pending hits and `extra` more in one statement (the window must not be busy); the new total. */
  async #send(w: LocalWindow, extra: number): Promise<number> {
    const carried = w.pending;
    w.pending = 0;
    w.inflight = carried + extra;
    const sent = this.#store.increment(w.tenantId, w.bucket, new Date(w.start), w.windowSeconds, carried + extra);
    w.busy = sent;
    try {
      const total = await sent;
      w.known = Math.max(w.known, total);
      return total;
    } catch (error) {
      w.pending += carried;
      throw error;
    } finally {
      w.inflight = 0;
      w.busy = undefined;
    }
  }
}

/** Waits until the window has no statement under way (whether that statement succeeded or not). */
async function idle(w: LocalWindow): Promise<void> {
  while (w.busy) await w.busy.catch(() => undefined);
}

function windowKey(tenantId: string, bucket: string, start: number): string {
  return `${tenantId}\u0000${bucket}\u0000${start}`;
}
