/** Sign-in policy documents, one row per tenant. Every function takes the tenant id. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Clock } from '../lib/clock.ts';
import { DEFAULT_POLICY, signInPolicySchema, type SignInPolicy } from './policy.ts';

export class PolicyRepository {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;

  constructor(db: Kysely<Database>, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** The tenant's policy; the documented defaults when it never stored one. */
  async get(tenantId: string, db: Kysely<Database> = this.#db): Promise<SignInPolicy> {
    const row = await db.selectFrom('risk_policies').select('document').where('tenant_id', '=', tenantId).executeTakeFirst();
    // Stored documents were validated on the way in; parsing again fills defaults added since.
    return row ? signInPolicySchema.parse(row.document) : DEFAULT_POLICY;
  }

  async put(tenantId: string, policy: SignInPolicy, db: Kysely<Database> = this.#db): Promise<void> {
    const document = JSON.stringify(policy);
    const at = this.#clock.now();
    await db
      .insertInto('risk_policies')
      .values({ tenant_id: tenantId, document, updated_at: at })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet((eb) => ({ document, updated_at: at, version: eb(eb.ref('risk_policies.version'), '+', 1) })))
      .execute();
  }
}
