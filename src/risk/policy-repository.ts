/**
 * Sign-in policy documents, one row per tenant. Every function takes the tenant id.
 *
 * `get` answers from a short per-node cache (`cacheMs`, 5 s by default): every sign-in reads the policy,
 * and it changes rarely. A `put` through this node takes effect on this node at once (the entry is dropped,
 * and PolicyService drops it again once the change committed); another node may apply the previous policy
 * for at most `cacheMs` after the commit. Reads inside a caller's transaction (`db` given) bypass the cache.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Clock } from '../lib/clock.ts';
import { DEFAULT_POLICY, signInPolicySchema, type SignInPolicy } from './policy.ts';

export interface PolicyRepositoryOptions {
  /** Milliseconds a policy read is reused on this node; 0 turns the cache off. The cross-node staleness bound. */
  readonly cacheMs?: number;
}

export const DEFAULT_POLICY_CACHE_MS = 5_000;
/** Beyond this many cached tenants, expired entries are dropped before adding one. */
const MAX_ENTRIES = 10_000;

interface Entry {
  readonly policy: SignInPolicy;
  /** Clock milliseconds. */
  readonly expiresAt: number;
}

export class PolicyRepository {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, Entry>();
  /** Bumped by every invalidation, so a read that started before a change never caches what it saw. */
  readonly #generation = new Map<string, number>();

  constructor(db: Kysely<Database>, clock: Clock, options: PolicyRepositoryOptions = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#cacheMs = options.cacheMs ?? DEFAULT_POLICY_CACHE_MS;
  }

  /** The tenant's policy; the documented defaults when it never stored one. */
  async get(tenantId: string, db?: Kysely<Database>): Promise<SignInPolicy> {
    if (db || this.#cacheMs <= 0) return this.#load(tenantId, db ?? this.#db);
    const now = this.#clock.now().getTime();
    const hit = this.#cache.get(tenantId);
    if (hit && hit.expiresAt > now) return hit.policy;
    const generation = this.#generation.get(tenantId) ?? 0;
    const policy = await this.#load(tenantId, this.#db);
    if ((this.#generation.get(tenantId) ?? 0) === generation) this.#remember(tenantId, policy, now);
    return policy;
  }

  async put(tenantId: string, policy: SignInPolicy, db: Kysely<Database> = this.#db): Promise<void> {
    const document = JSON.stringify(policy);
    const at = this.#clock.now();
    this.invalidate(tenantId);
    await db
      .insertInto('risk_policies')
      .values({ tenant_id: tenantId, document, updated_at: at })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet((eb) => ({ document, updated_at: at, version: eb(eb.ref('risk_policies.version'), '+', 1) })))
      .execute();
    this.invalidate(tenantId);
  }

  /** Drops this node's cached policy of the tenant (after a change committed). */
  invalidate(tenantId: string): void {
    this.#cache.delete(tenantId);
    this.#generation.set(tenantId, (this.#generation.get(tenantId) ?? 0) + 1);
  }

  async #load(tenantId: string, db: Kysely<Database>): Promise<SignInPolicy> {
    const row = await db.selectFrom('risk_policies').select('document').where('tenant_id', '=', tenantId).executeTakeFirst();
    // Stored documents were validated on the way in; parsing again fills defaults added since.
    return row ? signInPolicySchema.parse(row.document) : DEFAULT_POLICY;
  }

  #remember(tenantId: string, policy: SignInPolicy, now: number): void {
    if (this.#cache.size >= MAX_ENTRIES) {
      for (const [key, entry] of this.#cache) if (entry.expiresAt <= now) this.#cache.delete(key);
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.clear();
    }
    this.#cache.set(tenantId, { policy, expiresAt: now + this.#cacheMs });
  }
}
