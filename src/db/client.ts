/**
 * The kysely client: PostgreSQL through pg when a URL is given, embedded PGlite in DATA_DIR otherwise.
 * Both speak the same SQL, so everything above this file is unaware of which one runs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { preparingPool } from './prepared-pool.ts';
import type { Database } from './schema.ts';

export interface DatabaseOptions {
  /** `postgres://…`; undefined selects PGlite under dataDir. */
  readonly url: string | undefined;
  readonly dataDir: string;
  readonly poolSize: number;
  /** Milliseconds to wait for a connection before failing the query (fail fast during outages). */
  readonly connectTimeoutMs: number;
  /** Statement timeout in milliseconds, so a stuck query cannot pin a pooled connection forever. */
  readonly statementTimeoutMs?: number;
  /** Prepare hot statements once per connection (prepared-pool.ts). Default: true. */
  readonly preparedStatements?: boolean;
}

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /** Resolves when the database answers a trivial query within the connect timeout. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

// int8 (bigint) and numeric stay strings in JS to keep precision; timestamps become Dates (pg default).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 15_000,
      // Client-side bound too: a network that silently drops packets never answers the server-side one.
      query_timeout: (options.statementTimeoutMs ?? 15_000) + 5_000,
      // Lets the kernel notice a dead server on an idle connection instead of waiting forever.
      keepAlive: true,
    });
    // A backend that dies (server restart) emits on the pool; the pool drops it and reconnects on demand.
    pool.on('error', () => undefined);
    // A checked-out client whose backend dies mid-request emits 'error' too, and the pool listens only to idle
    // ones: without a listener that is an uncaught exception (the process dies). The failing query already
    // rejects with the error, and the pool discards the broken client on release.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: preparingPool(pool, { prepare: options.preparedStatements ?? true }) }),
    });
    return {
      db,
      kind: 'postgres',
      ping: () => pingWith(db, options.connectTimeoutMs),
      close: () => db.destroy(),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const dir = join(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create(dir);
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return {
    db,
    kind: 'pglite',
    ping: () => pingWith(db, options.connectTimeoutMs),
    close: () => db.destroy(),
  };
}

async function pingWith(db: Kysely<Database>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([sql`select 1`.execute(db).then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when the pool had no free connection in time: the node is busy, the database may be fine. */
export function isPoolExhausted(error: unknown): boolean {
  return error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message);
}

/** True for errors that mean "the database is not reachable right now" rather than a bad query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // Class 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now;
    // 53300: too many connections.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') {
      return true;
    }
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)) return true;
  }
  return /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error/i.test(
    error.message,
  );
}
