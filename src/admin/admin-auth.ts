/**
 * Who may call the admin API: the bootstrap token (stored as a digest in `settings`), or an access token
 * of the `admin` tenant carrying scope `admin`.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { Unauthorized } from '../lib/errors.ts';
import { generateSecret, hashSecret, verifySecret } from '../lib/secrets.ts';
import type { ProviderRegistry } from '../oidc/provider-registry.ts';

export const ADMIN_TENANT = 'admin';
const BOOTSTRAP_KEY = 'admin.bootstrap_token';

export interface AdminPrincipal {
  /** As recorded in the audit trail. */
  readonly actor: string;
}

export class AdminAuth {
  readonly #db: Kysely<Database>;
  readonly #registry: ProviderRegistry;
  #bootstrapHash: string | undefined;

  constructor(db: Kysely<Database>, registry: ProviderRegistry) {
    this.#db = db;
    this.#registry = registry;
  }

  /**
   * Makes sure a bootstrap token exists. A configured token replaces the stored digest; otherwise the
   * first start generates one and returns it (to print once). Later starts return undefined.
   */
  async ensureBootstrapToken(configured: string | undefined): Promise<string | undefined> {
    if (configured) {
      await this.#store(hashSecret(configured), true);
      return undefined;
    }
    const token = `pct_${generateSecret()}`;
    const created = await this.#store(hashSecret(token), false);
    return created ? token : undefined;
  }

  async authenticate(authorization: string | undefined): Promise<AdminPrincipal> {
    const match = /^Bearer ([\x21-\x7E]{1,4096})$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new Unauthorized('a bearer token is required');
    const token = match[1];
    const digest = await this.#digest();
    if (digest && verifySecret(digest, token)) return { actor: 'admin:bootstrap' };
    const provider = await this.#registry.get(ADMIN_TENANT);
    if (provider) {
      const at = (await provider.AccessToken.find(token)) ?? (await provider.ClientCredentials.find(token));
      if (at && !at.isExpired && (at.scope ?? '').split(' ').includes('admin')) {
        const accountId = 'accountId' in at ? (at.accountId as string | undefined) : undefined;
        return { actor: accountId ? `admin-user:${accountId}` : `admin-client:${at.clientId}` };
      }
    }
    throw new Unauthorized('the token is not valid for the admin API');
  }

  async #digest(): Promise<string | undefined> {
    if (this.#bootstrapHash) return this.#bootstrapHash;
    const row = await this.#db
      .selectFrom('settings')
      .select('value')
      .where('tenant_id', '=', ADMIN_TENANT)
      .where('key', '=', BOOTSTRAP_KEY)
      .executeTakeFirst();
    this.#bootstrapHash = typeof row?.value === 'string' ? row.value : undefined;
    return this.#bootstrapHash;
  }

  /** Returns true when a digest was written. */
  async #store(digest: string, replace: boolean): Promise<boolean> {
    const insert = this.#db
      .insertInto('settings')
      .values({ tenant_id: ADMIN_TENANT, key: BOOTSTRAP_KEY, value: JSON.stringify(digest) });
    const result = await (replace
      ? insert.onConflict((oc) => oc.columns(['tenant_id', 'key']).doUpdateSet({ value: JSON.stringify(digest) }))
      : insert.onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
    ).executeTakeFirst();
    this.#bootstrapHash = undefined;
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }
}
