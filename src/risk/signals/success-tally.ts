/**
 * Successful first factors per source, tallied on this node and added to the shared counters every
 * `flushMs` (250 ms by default) in one statement: the same `source_attempts` rows, under the same keys,
 * that every node reads (readSignals in sign-in-statements.ts, PostgresFailureCounters.sources).
 *
 * Why not one upsert per sign-in, as for failures: successes are only ever summed over the spray window
 * (an hour), as the denominator of a source's failure ratio. Behind a busy NAT (an office, a carrier) every
 * sign-in updated the same few rows, hundreds of times a minute each: the row versions piled up faster than
 * PostgreSQL could prune them, and both the writes and the engine's reads of those rows grew dear. Tallied,
 * a row changes once per flush per node.
 *
 * What it costs: a success counts on every node at most `flushMs` after it happened (failures, which lock
 * accounts and throttle sources, stay immediate), and a node that dies loses at most that much of its
 * successes, which can only make its addresses' failure ratios look worse. A flush PostgreSQL refuses keeps
 * its counts for the next one; counts for buckets already out of the window are dropped.
 */
import type { Kysely } from 'kysely';
import { CompiledQuery } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Clock } from '../../lib/clock.ts';
import { accountKey, bucketOf } from './failure-counters.ts';
import { THRESHOLDS } from '../weights.ts';

export const DEFAULT_SUCCESS_FLUSH_MS = 250;

/** Rows per source and minute that successful sign-ins are counted in. */
const SUCCESS_SHARDS = 8;

/**
 * The row key a success is counted under: `*0` … `*7`, chosen by the account key. Successes are only ever
 * summed (the denominator of a source's failure ratio), so they need no username: a source's window then
 * holds one row per failing username but at most eight rows a minute for its successes, however many people
 * sign in behind it (an office or carrier NAT), and concurrent sign-ins from one address rarely wait for the
 * same row. A real username that looks like a shard key only shares a row's sums, which stay right.
 */
export function successShard(username: string): string {
  const key = accountKey(username);
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return `*${h % SUCCESS_SHARDS}`;
}

interface Count {
  readonly tenantId: string;
  readonly source: string;
  readonly bucket: number;
  readonly shard: string;
  n: number;
}

const ADD_SQL = `
insert into source_attempts (tenant_id, source, bucket_start, username, successes)
select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::integer[])
on conflict (tenant_id, source, bucket_start, username) do update set successes = source_attempts.successes + excluded.successes`;

export interface SuccessTallyOptions {
  readonly clock: Clock;
  readonly flushMs?: number;
  /** Told about a flush that failed (its counts wait for the next one). */
  readonly onError?: (error: unknown) => void;
}

export class SuccessTally {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #flushMs: number;
  readonly #onError: (error: unknown) => void;
  #counts = new Map<string, Count>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(db: Kysely<Database>, options: SuccessTallyOptions) {
    this.#db = db;
    this.#clock = options.clock;
    this.#flushMs = options.flushMs ?? DEFAULT_SUCCESS_FLUSH_MS;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Counts one successful first factor for each source, under its shard's row key (`successShard`). */
  add(tenantId: string, username: string, sources: readonly string[], at: Date): void {
    if (sources.length === 0) return;
    const bucket = bucketOf(at).getTime();
    const shard = successShard(username);
    for (const source of sources) this.#count({ tenantId, source, bucket, shard, n: 1 });
    this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs).unref();
  }

  /** Sends what is tallied (one flush at a time); resolves once it is committed or has failed. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#flushing) await this.#flushing;
    if (this.#counts.size === 0) return;
    const counts = [...this.#counts.values()];
    this.#counts = new Map();
    this.#flushing = this.#send(counts).finally(() => {
      this.#flushing = undefined;
    });
    await this.#flushing;
  }

  async #send(counts: readonly Count[]): Promise<void> {
    try {
      await this.#db.executeQuery(
        CompiledQuery.raw(ADD_SQL, [
          counts.map((c) => c.tenantId),
          counts.map((c) => c.source),
          counts.map((c) => new Date(c.bucket).toISOString()),
          counts.map((c) => c.shard),
          counts.map((c) => c.n),
        ]),
      );
    } catch (error) {
      this.#onError(error);
      // Kept for the next flush, but only what still counts: buckets inside the spray window.
      const horizon = bucketOf(new Date(this.#clock.now().getTime() - THRESHOLDS.sources.sprayWindowMinutes * 60_000)).getTime();
      for (const c of counts) if (c.bucket >= horizon) this.#count(c);
      if (this.#counts.size > 0) this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs * 10).unref();
    }
  }

  #count(c: Count): void {
    const key = `${c.tenantId}\0${c.source}\0${c.bucket}\0${c.shard}`;
    const known = this.#counts.get(key);
    if (known) known.n += c.n;
    else this.#counts.set(key, { ...c });
  }
}
