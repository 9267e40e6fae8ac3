/**
 * Per-tenant signing keys (ES256 and RS256). Private JWKs are sealed with the tenant's data key.
 * Rotation makes a new key active and keeps the old one published in the JWKS until every token it
 * signed has expired (`publish_until`), so relying parties never meet a token they cannot verify.
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { newId } from '../lib/ids.ts';
import type { Clock } from '../lib/clock.ts';
import type { SecretBox } from './envelope.ts';

export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface PrivateJwk extends JWK {
  kid: string;
  alg: SigningAlg;
  use: 'sig';
}

export class SigningKeys {
  readonly #db: Kysely<Database>;
  readonly #box: SecretBox;
  readonly #clock: Clock;

  constructor(db: Kysely<Database>, box: SecretBox, clock: Clock) {
    this.#db = db;
    this.#box = box;
    this.#clock = clock;
  }

  /** Generates one active key per algorithm; `db` may be a transaction. */
  async createInitial(tenantId: string, db: Kysely<Database> = this.#db): Promise<void> {
    for (const alg of SIGNING_ALGS) await this.#insert(tenantId, alg, db);
  }

  /**
   * Makes a fresh key active for each algorithm and retires the previous ones, published for
   * `publishForSeconds` more (the longest lifetime of a token they signed). Returns the new kids.
   */
  async rotate(tenantId: string, publishForSeconds: number): Promise<string[]> {
    return this.#db.transaction().execute(async (trx) => {
      const publishUntil = new Date(this.#clock.now().getTime() + publishForSeconds * 1000);
      await trx
        .updateTable('signing_keys')
        .set({ status: 'retired', retired_at: this.#clock.now(), publish_until: publishUntil })
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'active')
        .execute();
      const kids: string[] = [];
      for (const alg of SIGNING_ALGS) kids.push(await this.#insert(tenantId, alg, trx));
      await trx
        .updateTable('tenants')
        .set({ keys_version: sql`keys_version + 1`, updated_at: this.#clock.now() })
        .where('tenant_id', '=', tenantId)
        .execute();
      return kids;
    });
  }

  /** Private JWKs to sign and publish with: active keys first, then retired ones still published. */
  async loadPrivate(tenantId: string): Promise<PrivateJwk[]> {
    const rows = await this.#db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwe', 'status'])
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('status', '=', 'active'), eb('publish_until', '>', this.#clock.now())]))
      .orderBy(sql`status = 'active'`, 'desc')
      .orderBy('created_at', 'desc')
      .execute();
    return Promise.all(rows.map(async (r) => JSON.parse(await this.#box.open(tenantId, r.private_jwe)) as PrivateJwk));
  }

  /** Deletes retired keys whose publication window has closed. */
  async purgeExpired(db: Kysely<Database> = this.#db): Promise<number> {
    const result = await db
      .deleteFrom('signing_keys')
      .where('status', '=', 'retired')
      .where('publish_until', '<=', this.#clock.now())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async #insert(tenantId: string, alg: SigningAlg, db: Kysely<Database>): Promise<string> {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const kid = newId();
    const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' } as PrivateJwk;
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    await db
      .insertInto('signing_keys')
      .values({
        tenant_id: tenantId,
        kid,
        alg,
        status: 'active',
        private_jwe: await this.#box.seal(tenantId, JSON.stringify(jwk), db),
        public_jwk: JSON.stringify(publicJwk),
      })
      .execute();
    return kid;
  }
}
