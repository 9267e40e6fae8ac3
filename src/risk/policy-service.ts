/** Reading and replacing a tenant's sign-in policy (admin API); every change is audited with it. */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import type { PolicyRepository } from './policy-repository.ts';
import type { SignInPolicy } from './policy.ts';

export class PolicyService {
  readonly #db: Kysely<Database>;
  readonly #policies: PolicyRepository;
  readonly #audit: AuditLog;

  constructor(db: Kysely<Database>, policies: PolicyRepository, audit: AuditLog) {
    this.#db = db;
    this.#policies = policies;
    this.#audit = audit;
  }

  /** Read from the database, not this node's cache: an admin sees what is stored. */
  get(tenantId: string): Promise<SignInPolicy> {
    return this.#policies.get(tenantId, this.#db);
  }

  /** Replaces the whole document (validated by the caller with signInPolicySchema). */
  async replace(tenantId: string, policy: SignInPolicy, ctx: ChangeContext): Promise<SignInPolicy> {
    await this.#db.transaction().execute(async (trx) => {
      await this.#policies.put(tenantId, policy, trx);
      await this.#audit.recordWith(trx, tenantId, {
        type: 'policy.updated',
        actor: ctx.actor,
        subject: `tenant:${tenantId}`,
        ip: ctx.ip ?? null,
        details: { policy },
      });
    });
    // Again after the commit: a sign-in that read the old row meanwhile must not keep it cached here.
    this.#policies.invalidate(tenantId);
    return policy;
  }
}
