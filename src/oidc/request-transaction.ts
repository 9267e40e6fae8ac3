/**
 * One database transaction per token request: the adapter's writes of a grant (the consumed code or
 * refresh token, the new refresh token, the access token) commit together, with one WAL flush instead of
 * one per statement, before the response leaves. `consume` stays single-use: its UPDATE takes the row lock,
 * so a racing request waits for this one to commit and then loses (test/oidc/refresh-race.security.test.ts).
 *
 * The transactions come from a pool of their own: a request holding one still needs the main pool for
 * everything else it does (account, risk engine, audit), and with one shared pool, enough concurrent token
 * requests would each hold a connection while waiting for another. Only on PostgreSQL: the embedded
 * database has a single connection.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

export class RequestTransactions {
  readonly #db: Kysely<Database>;
  readonly #current = new AsyncLocalStorage<Transaction<Database>>();

  /** `db` must be a pool separate from the one the rest of the request uses. */
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The transaction of the request under way, if any. */
  current(): Transaction<Database> | undefined {
    return this.#current.getStore();
  }

  /** Runs `work` inside a new transaction that commits when `work` resolves and rolls back when it throws. */
  run(work: () => Promise<void>): Promise<void> {
    return this.#db.transaction().execute((trx) => this.#current.run(trx, work));
  }
}
