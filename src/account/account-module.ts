/** What the account pages and passkey sign-in need beyond the container's shared parts (built there). */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import type { DerivedKeys } from '../keys/derived-keys.ts';
import type { Clock } from '../lib/clock.ts';
import { PasskeyRepository } from '../mfa/passkey-repository.ts';
import { PasskeyService, relyingPartyOf } from '../mfa/webauthn.ts';
import { AccountClient } from '../oidc/account-client.ts';
import type { ClientService } from '../oidc/client-service.ts';
import type { ProviderRegistry } from '../oidc/provider-registry.ts';
import { DeviceRepository } from '../risk/signals/device-repository.ts';
import { AccountCookies } from './account-cookies.ts';

/** Default freshness for factor changes: a sign-in at most five minutes old. */
export const ACCOUNT_FRESH_SECONDS = 300;

export interface AccountModule {
  readonly passkeys: PasskeyService;
  readonly client: AccountClient;
  readonly cookies: AccountCookies;
  readonly devices: DeviceRepository;
  readonly freshSeconds: number;
}

export function createAccountModule(deps: {
  db: Kysely<Database>;
  audit: AuditLog;
  clock: Clock;
  derivedKeys: DerivedKeys;
  registry: ProviderRegistry;
  clients: ClientService;
  publicUrl: string;
  freshSeconds?: number;
}): AccountModule {
  return {
    passkeys: new PasskeyService(new PasskeyRepository(deps.db), deps.audit, deps.clock, relyingPartyOf(deps.publicUrl)),
    client: new AccountClient({ db: deps.db, registry: deps.registry, clients: deps.clients, publicUrl: deps.publicUrl }),
    cookies: new AccountCookies(deps.derivedKeys.key('account-cookie'), deps.publicUrl.startsWith('https:')),
    devices: new DeviceRepository(deps.db),
    freshSeconds: deps.freshSeconds ?? ACCOUNT_FRESH_SECONDS,
  };
}
