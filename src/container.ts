/**
 * The one composition root: repositories → services → routers, wired by hand. Nothing else constructs
 * long-lived objects, so tests and the server build exactly the same graph.
 */
import { Redis } from 'ioredis';
import type { ClientMetadata } from 'oidc-provider';
import type { Logger } from 'pino';
import { AdminAuth } from './admin/admin-auth.ts';
import { createAccountModule, type AccountModule } from './account/account-module.ts';
import { AuditLog } from './audit/audit-log.ts';
import { AuditRepository } from './audit/audit-repository.ts';
import type { Config } from './config/env.ts';
import { isPoolExhausted, type DatabaseHandle } from './db/client.ts';
import { Csrf } from './http/csrf.ts';
import { DatabaseHealth } from './http/db-health.ts';
import { Metrics } from './http/metrics.ts';
import { PostgresCounterStore, RateLimiter, RedisCounterStore } from './http/rate-limit.ts';
import { createRenderer, type Renderer } from './http/views.ts';
import { GroupRepository } from './identity/group-repository.ts';
import { IdentityEvents } from './identity/identity-events.ts';
import { PasswordAuthenticator } from './identity/password-authenticator.ts';
import { PasswordVerifier } from './identity/passwords.ts';
import { UserRepository } from './identity/user-repository.ts';
import { UserService } from './identity/user-service.ts';
import { AttributePrecedenceStore } from './identity/attribute-precedence.ts';
import { ProvisioningRepository } from './identity/provisioning-repository.ts';
import { ProvisioningService } from './identity/provisioning-service.ts';
import { DerivedKeys } from './keys/derived-keys.ts';
import { SecretBox } from './keys/envelope.ts';
import type { MasterKey } from './keys/master-key.ts';
import { SigningKeys } from './keys/signing-keys.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import { InvalidInput } from './lib/errors.ts';
import { accountTerminator } from './oidc/account-termination.ts';
import { ClientService } from './oidc/client-service.ts';
import { ClientStore } from './oidc/client-store.ts';
import { PayloadWriteBatcher } from './oidc/payload-write-batcher.ts';
import { ProviderRegistry } from './oidc/provider-registry.ts';
import { ResourceServerStore } from './oidc/resource-servers.ts';
import { TenantService } from './tenants/tenant-service.ts';
import { createScimModule, type ScimModule } from './scim/scim-module.ts';
import type { OAuthTokens } from './scim/tokens/scim-auth.ts';
import { FactorRepository } from './mfa/factor-repository.ts';
import { MfaReset } from './mfa/mfa-reset.ts';
import { RecoveryCodeRepository } from './mfa/recovery-code-repository.ts';
import { RecoveryCodes } from './mfa/recovery-codes.ts';
import { TotpService } from './mfa/totp.ts';
import { CompromiseService } from './risk/compromise-service.ts';
import { AssessmentRepository } from './risk/assessment-repository.ts';
import { DeviceCookies } from './risk/device-cookie.ts';
import { RiskEngine } from './risk/engine.ts';
import { MmdbGeoLocator } from './risk/geo.ts';
import { PolicyRepository } from './risk/policy-repository.ts';
import { PolicyService } from './risk/policy-service.ts';
import { RefreshRiskCheck } from './risk/refresh-check.ts';
import { DeviceRepository } from './risk/signals/device-repository.ts';
import { SignInHistory } from './risk/signals/history-repository.ts';
import { PostgresFailureCounters } from './risk/signals/postgres-failure-counters.ts';
import { SuccessTally } from './risk/signals/success-tally.ts';
import { PendingSignIns } from './oidc/interactions/pending-sign-ins.ts';

export interface ContainerOptions {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly masterKey: MasterKey;
  readonly logger: Logger;
  readonly clock?: Clock;
}

export interface Container {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: DatabaseHealth;
  readonly render: Renderer;
  readonly audit: AuditLog;
  readonly auditEvents: AuditRepository;
  readonly signingKeys: SigningKeys;
  readonly users: UserRepository;
  readonly groups: GroupRepository;
  readonly userService: UserService;
  readonly tenants: TenantService;
  readonly clients: ClientService;
  readonly clientStore: ClientStore;
  readonly resourceServers: ResourceServerStore;
  readonly registry: ProviderRegistry;
  readonly adminAuth: AdminAuth;
  readonly authenticator: PasswordAuthenticator;
  readonly limiter: RateLimiter;
  readonly csrf: Csrf;
  /** Provisioned users and groups (SCIM, directory sync) and the tenant's attribute precedence. */
  readonly provisioning: ProvisioningService;
  readonly attributePrecedence: AttributePrecedenceStore;
  readonly scim: ScimModule;
  /** Zero-trust sign-in: the risk engine and its stores, the sign-in policy, second factors. */
  readonly geo: MmdbGeoLocator;
  readonly risk: RiskEngine;
  readonly signInHistory: SignInHistory;
  readonly failureCounters: PostgresFailureCounters;
  readonly assessments: AssessmentRepository;
  readonly deviceCookies: DeviceCookies;
  /** Sign-in policies for the sign-in path (a short per-node cache); admins go through policyService. */
  readonly signInPolicies: PolicyRepository;
  readonly policyService: PolicyService;
  readonly factors: FactorRepository;
  readonly totp: TotpService;
  readonly recoveryCodes: RecoveryCodes;
  readonly mfaReset: MfaReset;
  readonly compromise: CompromiseService;
  /** Sign-ins waiting for their second factor, keyed by interaction uid. */
  readonly pendingSignIns: PendingSignIns;
  readonly clock: Clock;
  /** The account pages (`/t/{tenant}/account`) and passkeys. */
  readonly account: AccountModule;
  /** Stops timers and flushes the audit queue; the database is closed by its owner. */
  close(): Promise<void>;
}

export function createContainer(options: ContainerOptions): Container {
  const { config, database, logger } = options;
  const db = database.db;
  const clock = options.clock ?? systemClock;
  const metrics = new Metrics();
  const health = new DatabaseHealth(() => database.ping(), logger);
  const render = createRenderer({ cache: true });
  const derivedKeys = new DerivedKeys(options.masterKey);
  const box = new SecretBox(db, options.masterKey);
  const signingKeys = new SigningKeys(db, box, clock);
  const audit = new AuditLog(db, clock);
  const auditEvents = new AuditRepository(db);
  const users = new UserRepository(db);
  const groups = new GroupRepository(db);
  const identityEvents = new IdentityEvents((err, event) => logger.error({ err, event }, 'identity event listener failed'));
  const userService = new UserService(db, users, audit, identityEvents);
  const tenants = new TenantService(db, signingKeys, audit, config.publicUrl);
  const clientStore = new ClientStore(db);
  const resourceServers = new ResourceServerStore(db, audit);
  const geo = new MmdbGeoLocator({ cityDbPath: config.geoipDb, asnDbPath: config.geoipAsnDb });
  const policies = new PolicyRepository(db, clock);
  const signInHistory = new SignInHistory(db);
  const failureCounters = new PostgresFailureCounters(db);
  const successTally = new SuccessTally(db, { clock, onError: (err: unknown) => logger.warn({ err }, 'source success counts not flushed; kept for the next flush') });
  const assessments = new AssessmentRepository(db);
  const deviceCookies = new DeviceCookies(derivedKeys);
  const risk = new RiskEngine({
    geo,
    policies,
    history: signInHistory,
    devices: new DeviceRepository(db),
    counters: failureCounters,
    successes: successTally,
    assessments,
    audit,
    deviceCookies,
    clock,
  });
  const factors = new FactorRepository(db);
  const recoveryCodeRepo = new RecoveryCodeRepository(db);
  const registry = new ProviderRegistry(
    {
      db,
      clients: clientStore,
      users,
      signingKeys,
      derivedKeys,
      resourceServers,
      audit,
      metrics,
      render,
      logger,
      publicUrl: config.publicUrl,
      outboundAllowPrivateNetworks: config.outboundAllowPrivateNetworks,
      // Step-up enforcement in the interaction policy, and risk at refresh (RISK_ENGINE=off: neither).
      signInPolicies: policies,
      payloadWrites: new PayloadWriteBatcher(db),
      ...(config.riskEngine ? { refreshRisk: new RefreshRiskCheck(risk, users) } : {}),
      onDatabaseUnavailable: (error) => {
        if (!isPoolExhausted(error)) health.reportFailure();
      },
    },
    tenants,
  );
  const clients = new ClientService(db, clientStore, audit, async (tenantId, metadata) => {
    const provider = await registry.get(tenantId);
    if (!provider) throw new InvalidInput('no such tenant');
    try {
      await provider.Client.validate(metadata as unknown as ClientMetadata);
    } catch (error) {
      const e = error as { error_description?: string; message?: string };
      throw new InvalidInput(e.error_description ?? e.message ?? 'invalid client metadata', { cause: error });
    }
  });
  // A deactivated or deleted user loses every session, grant and token at once; clients are told.
  identityEvents.subscribe(accountTerminator({ db, registry, audit, logger }));
  const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined;
  redis?.on('error', (err) => logger.warn({ err }, 'redis error'));
  const limiter = new RateLimiter(redis ? new RedisCounterStore(redis) : new PostgresCounterStore(db));
  const attributePrecedence = new AttributePrecedenceStore(db, audit);
  const provisioningRepository = new ProvisioningRepository(db);
  const provisioning = new ProvisioningService(db, provisioningRepository, attributePrecedence, audit, identityEvents);
  const scim = createScimModule({
    db,
    audit,
    provisioning,
    provisioningRepository,
    oauth: oauthTokensOf(registry),
    publicUrl: config.publicUrl,
    maxBodyBytes: config.maxBodyBytes,
    logger,
  });

  return {
    config,
    database,
    logger,
    metrics,
    health,
    render,
    audit,
    auditEvents,
    signingKeys,
    users,
    groups,
    userService,
    tenants,
    clients,
    clientStore,
    resourceServers,
    registry,
    adminAuth: new AdminAuth(db, registry),
    authenticator: new PasswordAuthenticator(users, new PasswordVerifier()),
    limiter,
    csrf: new Csrf(derivedKeys.key('csrf')),
    provisioning,
    attributePrecedence,
    scim,
    geo,
    risk,
    signInHistory,
    failureCounters,
    assessments,
    deviceCookies,
    signInPolicies: policies,
    policyService: new PolicyService(db, policies, audit),
    factors,
    totp: new TotpService(factors, box, audit, clock),
    recoveryCodes: new RecoveryCodes(db, recoveryCodeRepo, audit, clock),
    mfaReset: new MfaReset(db, factors, recoveryCodeRepo, audit),
    compromise: new CompromiseService(signInHistory, audit, identityEvents, clock),
    pendingSignIns: new PendingSignIns(db),
    clock,
    account: createAccountModule({ db, audit, clock, derivedKeys, registry, clients, publicUrl: config.publicUrl }),
    async close() {
      health.stop();
      await limiter.flushAll().catch(() => undefined);
      await successTally.flush();
      await audit.close();
      redis?.disconnect();
    },
  };
}

/** SCIM's view of the tenant's OAuth tokens (scim/ never imports oidc-provider). */
function oauthTokensOf(registry: ProviderRegistry): OAuthTokens {
  return {
    async clientCredentials(tenantId, token) {
      const at = await (await registry.get(tenantId))?.ClientCredentials.find(token);
      if (!at?.clientId || at.isExpired) return undefined;
      return { clientId: at.clientId, scopes: (at.scope ?? '').split(' ') };
    },
    async userAccessToken(tenantId, token) {
      const at = await (await registry.get(tenantId))?.AccessToken.find(token);
      if (!at?.clientId || at.isExpired || !at.accountId) return undefined;
      return { accountId: at.accountId, clientId: at.clientId };
    },
  };
}
