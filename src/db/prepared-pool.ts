/**
 * A pg pool for kysely that turns the hot statements into prepared statements.
 *
 * node-postgres sends every parameterised query as an unnamed statement, which PostgreSQL parses and plans
 * again on every execution: for the sign-in's risk query or a token request's write that costs more server
 * CPU than running it. Here a statement text seen `HOT_AFTER` times gets a name derived from its text, and
 * each connection prepares it once (pg keeps the list per connection); from then on only Bind and Execute
 * travel, and PostgreSQL may reuse a generic plan.
 *
 * Bounds: texts that vary (IN lists of different lengths) stay unnamed until they repeat; a connection holds
 * at most `MAX_PER_CONNECTION` prepared statements, and the process remembers at most `MAX_TEXTS` texts.
 * A statement whose result shape changed under it (a migration added a column: SQLSTATE 0A000, "cached plan
 * must not change result type") is dropped from the connection and run again unnamed.
 * Poolers in transaction mode (PgBouncer before 1.21) cannot carry prepared statements: `prepare: false`.
 */
import { createHash } from 'node:crypto';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

const HOT_AFTER = 3;
const MAX_TEXTS = 4096;
const MAX_PER_CONNECTION = 512;

/** The statement name for each text seen often enough, and how often the others were seen. */
class StatementNames {
  readonly #names = new Map<string, string>();
  readonly #seen = new Map<string, number>();

  nameFor(text: string): string | undefined {
    const known = this.#names.get(text);
    if (known) return known;
    if (this.#names.size >= MAX_TEXTS) return undefined;
    const seen = (this.#seen.get(text) ?? 0) + 1;
    if (seen < HOT_AFTER) {
      if (this.#seen.size >= MAX_TEXTS) this.#seen.clear();
      this.#seen.set(text, seen);
      return undefined;
    }
    this.#seen.delete(text);
    const name = `pc_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    this.#names.set(text, name);
    return name;
  }
}

/** What pg keeps per connection about the statements it has prepared (an internal of pg 8). */
interface ParsedStatements {
  readonly connection?: { parsedStatements?: Record<string, string> };
}

function isResultShapeChanged(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '0A000' && /cached plan must not change result type/i.test(error.message);
}

class PreparingClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  readonly #names: StatementNames;
  readonly #prepared: Set<string>;

  constructor(client: pg.PoolClient, names: StatementNames, prepared: Set<string>) {
    this.#client = client;
    this.#names = names;
    this.#prepared = prepared;
  }

  query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters?: readonly unknown[]): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== 'string') return this.#client.query(sqlOrCursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    const values = parameters ? [...parameters] : [];
    const name = values.length > 0 ? this.#nameFor(sqlOrCursor) : undefined;
    if (!name) return this.#client.query(sqlOrCursor, values) as unknown as Promise<PostgresQueryResult<R>>;
    return this.#runNamed<R>(name, sqlOrCursor, values);
  }

  release(): void {
    this.#client.release();
  }

  #nameFor(text: string): string | undefined {
    const name = this.#names.nameFor(text);
    if (!name) return undefined;
    if (this.#prepared.has(name)) return name;
    if (this.#prepared.size >= MAX_PER_CONNECTION) return undefined;
    this.#prepared.add(name);
    return name;
  }

  async #runNamed<R>(name: string, text: string, values: unknown[]): Promise<PostgresQueryResult<R>> {
    try {
      return (await this.#client.query({ name, text, values })) as unknown as PostgresQueryResult<R>;
    } catch (error) {
      if (!isResultShapeChanged(error)) throw error;
      // The table changed under the prepared statement: forget it on this connection and run it unnamed.
      // Inside a transaction that has now failed, the retry fails too and the original error stands.
      this.#prepared.delete(name);
      delete (this.#client as unknown as ParsedStatements).connection?.parsedStatements?.[name];
      try {
        await this.#client.query(`deallocate "${name}"`);
        return (await this.#client.query(text, values)) as unknown as PostgresQueryResult<R>;
      } catch {
        throw error;
      }
    }
  }
}

/**
 * Wraps a pg pool for kysely's PostgresDialect; `prepare: false` passes every statement through unnamed.
 * One wrapper per pg connection, for its life: kysely keeps its own state per client object.
 */
export function preparingPool(pool: pg.Pool, options: { prepare: boolean }): PostgresPool {
  const names = new StatementNames();
  const wrappers = new WeakMap<pg.PoolClient, PreparingClient>();
  return {
    options: pool.options,
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      if (!options.prepare) return client;
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = new PreparingClient(client, names, new Set());
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}
