/**
 * One oidc-provider per tenant, created on first use and cached. Each cached provider remembers the
 * tenant's `keys_version`; a rotation on any node bumps it, and every node rebuilds within CHECK_MS.
 */
import type Provider from 'oidc-provider';
import type { TenantService } from '../tenants/tenant-service.ts';
import { createTenantProvider, type ProviderDeps } from './provider-factory.ts';

const CHECK_MS = 10_000;

interface Entry {
  readonly provider: Provider;
  readonly keysVersion: number;
  checkedAt: number;
}

export class ProviderRegistry {
  readonly #deps: ProviderDeps;
  readonly #tenants: TenantService;
  readonly #entries = new Map<string, Entry>();
  readonly #building = new Map<string, Promise<Provider | undefined>>();

  constructor(deps: ProviderDeps, tenants: TenantService) {
    this.#deps = deps;
    this.#tenants = tenants;
  }

  /** The tenant's provider, or undefined when the tenant does not exist. */
  async get(tenantId: string): Promise<Provider | undefined> {
    const entry = this.#entries.get(tenantId);
    if (entry && Date.now() - entry.checkedAt < CHECK_MS) return entry.provider;
    let pending = this.#building.get(tenantId);
    if (!pending) {
      pending = this.#refresh(tenantId, entry).finally(() => this.#building.delete(tenantId));
      this.#building.set(tenantId, pending);
    }
    return pending;
  }

  /** Drops the cached provider (after a local key rotation or tenant change). */
  invalidate(tenantId: string): void {
    this.#entries.delete(tenantId);
  }

  async #refresh(tenantId: string, entry: Entry | undefined): Promise<Provider | undefined> {
    const tenant = await this.#tenants.find(tenantId);
    if (!tenant) {
      this.#entries.delete(tenantId);
      return undefined;
    }
    if (entry && entry.keysVersion === tenant.keys_version) {
      entry.checkedAt = Date.now();
      return entry.provider;
    }
    const provider = await createTenantProvider(tenantId, this.#deps);
    this.#entries.set(tenantId, { provider, keysVersion: tenant.keys_version, checkedAt: Date.now() });
    return provider;
  }
}
