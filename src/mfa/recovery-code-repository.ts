/** Recovery code digests; consumption is one UPDATE … WHERE used_at IS NULL, so a code works once. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

export class RecoveryCodeRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Replaces every code of the user with `hashes` (inside the caller's transaction). */
  async replace(tenantId: string, userId: string, hashes: readonly string[], at: Date, db: Kysely<Database> = this.#db): Promise<void> {
    await this.removeAll(tenantId, userId, db);
    await db
      .insertInto('mfa_recovery_codes')
      .values(hashes.map((code_hash) => ({ tenant_id: tenantId, user_id: userId, code_hash, created_at: at })))
      .execute();
  }

  /** True for exactly one caller per unused code. */
  async consume(tenantId: string, userId: string, hash: string, at: Date): Promise<boolean> {
    const row = await this.#db
      .updateTable('mfa_recovery_codes')
      .set({ used_at: at })
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('code_hash', '=', hash)
      .where('used_at', 'is', null)
      .returning('code_hash')
      .executeTakeFirst();
    return row !== undefined;
  }

  async remaining(tenantId: string, userId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('mfa_recovery_codes')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async removeAll(tenantId: string, userId: string, db: Kysely<Database> = this.#db): Promise<number> {
    const result = await db.deleteFrom('mfa_recovery_codes').where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
