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
import { bucketOf } from './failure-counters.ts';
import { THRESHOLDS } from '../weights.ts';

export const DEFAULT_SUCCESS_FLUSH_MS = 250;

/**
 * The row key successes are counted under: one row per source and minute, whoever signed in. Successes are
 * only ever summed (the denominator of a source's failure ratio), so they need no username, and the engine's
 * read of a source's hour aggregates at most 60 success rows however many people sign in behind it (an office
 * or carrier NAT). Before the tally, successes were spread over eight rows a minute (`*0` … `*7`) so that
 * concurrent sign-ins from one address rarely waited for the same row; a tally's flush is one statement per
 * node every `flushMs`, so that spread only made every read aggregate eight times the rows (rows of that
 * shape still written before the change are summed alike until they leave the window). A username `*` only
 * shares the row's sums, which stay right.
 */
export const SUCCESS_KEY = '*';

interface Count {
  readonly tenantId: string;
  readonly source: string;
  readonly bucket: number;
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

  /** Counts one successful first factor for each source (under SUCCESS_KEY, whoever signed in). */
  add(tenantId: string, sources: readonly string[], at: Date): void {
    if (sources.length === 0) return;
    const bucket = bucketOf(at).getTime();
    for (const source of sources) this.#count({ tenantId, source, bucket, n: 1 });
    this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs).unref();
  }

  /** Sends what is tallied (one flush at a time); resolves once it is committed or has failed. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#flushing) await this.#flushing;
    if (this.#counts.size === 0) return;
    // In key order: two nodes flushing the same rows lock them in the same order, so they never deadlock.
    const counts = [...this.#counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
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
          counts.map(() => SUCCESS_KEY),
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
    // The bucket zero-padded, so that the keys sort like the rows' primary key (tenant, source, bucket).
    const key = `${c.tenantId}\0${c.source}\0${String(c.bucket).padStart(16, '0')}`;
    const known = this.#counts.get(key);
    if (known) known.n += c.n;
    else this.#counts.set(key, { ...c });
  }
}
