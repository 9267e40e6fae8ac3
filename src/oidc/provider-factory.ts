/**
 * Builds the oidc-provider instance of one tenant: issuer `${PUBLIC_URL}/t/{tenant}`, its keys, its clients,
 * our adapter, pages and hooks. Everything tenant-specific is bound here; the registry caches the result.
 */
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuditEventInput } from '../audit/events.ts';
import { isDatabaseUnavailable } from '../db/client.ts';
import type { Database } from '../db/schema.ts';
import type { Renderer } from '../http/views.ts';
import type { UserRepository } from '../identity/user-repository.ts';
import type { DerivedKeys } from '../keys/derived-keys.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import { verifySecret } from '../lib/secrets.ts';
import type { Metrics } from '../http/metrics.ts';
import { accountFinder } from './account.ts';
import { adapterFor, grantIdsOf, revokeGrant } from './adapter.ts';
import type { ClientStore } from './client-store.ts';
import type { ResourceServerStore } from './resource-servers.ts';
import { loadGrantFor } from './grants.ts';
import type { PayloadWriteBatcher } from './payload-write-batcher.ts';
import { flushPendingWrites, PendingWrites, RequestWrites } from './request-writes.ts';
import { ACR_VALUES } from '../mfa/amr.ts';
import type { RefreshRiskCheck } from '../risk/refresh-check.ts';
import { installRefreshRisk } from './refresh-risk.ts';
import { interactionPolicyWithStepUp, type SignInPolicySource } from './step-up-check.ts';

/** Token lifetimes in seconds. Retired signing keys stay published for the longest of them. */
export const TTL = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  ClientCredentials: 3600,
  IdToken: 3600,
  Interaction: 3600,
  Session: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
  RefreshToken: 14 * 24 * 3600,
} as const;

export interface ProviderDeps {
  readonly db: Kysely<Database>;
  readonly clients: ClientStore;
  readonly users: UserRepository;
  readonly signingKeys: SigningKeys;
  readonly derivedKeys: DerivedKeys;
  readonly resourceServers: ResourceServerStore;
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly render: Renderer;
  readonly logger: Logger;
  readonly publicUrl: string;
  /** Group commit for requests' held-back writes that claim nothing (one per process, shared by tenants). */
  readonly payloadWrites?: PayloadWriteBatcher;
  /** Told when a storage call inside oidc-provider found the database unreachable. */
  readonly onDatabaseUnavailable: (error: unknown) => void;
  /** Drops oidc-provider's SSRF guard for outgoing requests (development and tests only). */
  readonly outboundAllowPrivateNetworks: boolean;
  /** Sign-in policies: the step-up check of the login prompt reads `requiredAcr` and `stepUpMaxAgeSeconds`. */
  readonly signInPolicies?: SignInPolicySource;
  /** Risk assessment at refresh-token use (unset: refreshes are not assessed, e.g. RISK_ENGINE=off). */
  readonly refreshRisk?: RefreshRiskCheck;
}

interface AuditState {
  pendingAudit?: AuditEventInput[];
  databaseUnavailable?: boolean;
}

export function cookieNames(tenantId: string): { session: string; interaction: string; resume: string } {
  return {
    session: `_session.${tenantId}`,
    interaction: `_interaction.${tenantId}`,
    resume: `_interaction_resume.${tenantId}`,
  };
}

export async function createTenantProvider(tenantId: string, deps: ProviderDeps): Promise<Provider> {
  const issuer = `${deps.publicUrl}/t/${tenantId}`;
  const keys = await deps.signingKeys.loadPrivate(tenantId);
  const secure = issuer.startsWith('https:');
  const requestWrites = new RequestWrites();
  const configuration: Configuration = {
    adapter: adapterFor(tenantId, {
      db: deps.db,
      clients: deps.clients,
      requestWrites,
      onReuse: (_tenant, model, grantId) => {
        deps.logger.warn({ tenantId, model, grantId }, 'single-use credential raced: grant revoked');
      },
    }),
    findAccount: accountFinder(tenantId, deps.users),
    jwks: { keys },
    // What a sign-in really proved (src/mfa/amr.ts), weakest first: 1fa, mfa, phr, phrh.
    acrValues: [...ACR_VALUES],
    claims: {
      // acr, amr and auth_time go into every ID token (they describe the sign-in, not the user).
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
    },
    // The operator tenant `admin` also issues the `admin` scope of the admin API (DESIGN.md); `scim` lets a
    // client-credentials token call the tenant's SCIM API.
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', 'scim', ...(tenantId === 'admin' ? ['admin'] : [])],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    // No HMAC algorithms: client secrets are stored as digests and cannot key an HMAC.
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256', 'RS256'],
      userinfoSigningAlgValues: ['ES256', 'RS256'],
      introspectionSigningAlgValues: ['ES256', 'RS256'],
      authorizationSigningAlgValues: ['ES256', 'RS256'],
      clientAuthSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      requestObjectSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
    },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    extraClientMetadata: { properties: ['require_consent'] },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? TTL.AccessToken,
      AuthorizationCode: TTL.AuthorizationCode,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? TTL.ClientCredentials,
      IdToken: TTL.IdToken,
      Interaction: TTL.Interaction,
      Session: TTL.Session,
      Grant: TTL.Grant,
      RefreshToken: TTL.RefreshToken,
    },
    cookies: {
      keys: [deps.derivedKeys.key(`cookies:${tenantId}`).toString('base64url')],
      names: cookieNames(tenantId),
      long: { httpOnly: true, sameSite: 'lax', signed: true, secure },
      short: { httpOnly: true, sameSite: 'lax', signed: true, secure },
    },
    interactions: {
      url: (_ctx, interaction) => `/t/${tenantId}/interaction/${interaction.uid}`,
      // The base prompts plus the step-up check (src/oidc/step-up-check.ts): no session skips a step-up.
      ...(deps.signInPolicies && { policy: interactionPolicyWithStepUp(tenantId, deps.signInPolicies) }),
    },
    loadExistingGrant: loadGrantFor,
    features: {
      devInteractions: { enabled: false },
      // A client may introspect and revoke its own tokens only. APIs get JWT access tokens (resource
      // indicators) that they verify offline, so they have no need to introspect other clients' tokens.
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true },
      registration: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = deps.render('logout', {
            title: 'Sign out',
            form,
            clientName: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId ?? null,
          });
        },
        postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = deps.render('logged-out', {
            title: 'Signed out',
            clientName: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId ?? null,
          });
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        async getResourceServerInfo(_ctx, resourceIndicator) {
          const rs = await deps.resourceServers.find(tenantId, resourceIndicator);
          if (!rs) throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          return {
            scope: rs.scopes.join(' '),
            audience: rs.identifier,
            accessTokenTTL: rs.accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    ...(deps.outboundAllowPrivateNetworks && {
      fetch: (url: string | URL | Request, options?: RequestInit) => {
        const { dispatcher: _ssrfGuard, ...rest } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
        return fetch(url, rest);
      },
    }),
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = deps.render('error', {
        title: 'Something went wrong',
        error: out.error,
        description: out.error_description ?? null,
      });
    },
  };

  const provider = new Provider(issuer, configuration);
  // canonicalOrigin (src/http/canonical-origin.ts) sets Host and X-Forwarded-* from PUBLIC_URL on every
  // tenant request, so trusting them here is trusting our own configuration. Client IPs come from express.
  provider.proxy = true;
  // Stored client secrets are SHA-256 digests (src/lib/secrets.ts): compare presented secrets against them.
  Object.defineProperty(provider.Client.prototype, 'compareClientSecret', {
    value(this: { clientSecret?: string }, actual: string): Promise<boolean> {
      return Promise.resolve(typeof actual === 'string' && verifySecret(this.clientSecret ?? '', actual));
    },
  });
  installAuditHooks(tenantId, provider, deps);
  installRequestWrites(tenantId, provider, requestWrites, deps);
  if (deps.refreshRisk) installRefreshRisk(tenantId, provider, { check: deps.refreshRisk, audit: deps.audit });
  return provider;
}

/**
 * Holds back each request's storage writes and sends them as one statement before the response
 * (request-writes.ts). Inside the audit middleware, so a grant's rows are committed before its audit events
 * and before the answer; a failed write withholds the answer as a 503 like any outage. When a claimed code
 * or refresh token turns out to have been consumed by a racing request, nothing was written: the grant is
 * revoked and the answer becomes invalid_grant, audited as reuse instead of as an issued token.
 */
function installRequestWrites(tenantId: string, provider: Provider, requestWrites: RequestWrites, deps: ProviderDeps): void {
  provider.use(async (ctx, next) => {
    const pending = new PendingWrites();
    try {
      await requestWrites.run(pending, next);
    } finally {
      await settle(ctx as KoaContextWithOIDC, pending);
    }
  });

  async function settle(ctx: KoaContextWithOIDC, pending: PendingWrites): Promise<void> {
    const state = ctx.state as AuditState;
    try {
      const flushed = await flushPendingWrites(deps.db, tenantId, pending, deps.payloadWrites);
      if (flushed.claimsWon) return;
      const grantIds = await grantIdsOf(deps.db, tenantId, flushed.claims);
      await Promise.all(grantIds.map((grantId) => revokeGrant(deps.db, tenantId, grantId)));
      deps.logger.warn({ tenantId, grantIds }, 'single-use credential raced: grant revoked');
      answerReuse(ctx, state);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      deps.onDatabaseUnavailable(error);
      deps.logger.warn({ tenantId, err: error }, 'database unavailable: request writes not committed, answer withheld');
      state.databaseUnavailable = true;
    }
  }
}

/** A redemption that lost its race: invalid_grant, audited as reuse (the grant is already revoked). */
function answerReuse(ctx: KoaContextWithOIDC, state: AuditState): void {
  const grantType = grantTypeOf(ctx);
  const clientId = ctx.oidc.client?.clientId ?? 'unknown';
  state.pendingAudit = (state.pendingAudit ?? []).filter((event) => event.type !== 'token.issued');
  state.pendingAudit.push({
    type: grantType === 'refresh_token' ? 'refresh_token.reuse' : 'authorization_code.reuse',
    actor: `client:${clientId}`,
    subject: `client:${clientId}`,
    ip: (ctx.req as { ip?: string }).ip ?? ctx.ip,
    details: { grantType, error: 'invalid_grant', detail: 'already used by a concurrent request', grantRevoked: true },
  });
  ctx.status = 400;
  ctx.type = 'json';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
}

function grantTypeOf(ctx: KoaContextWithOIDC): string {
  const value = ctx.oidc.params?.grant_type;
  return typeof value === 'string' ? value : 'unknown';
}

/**
 * Token-endpoint outcomes become audit events written before the response leaves: the middleware awaits
 * them after oidc-provider has produced the answer, so an issued token always has its committed event.
 */
function installAuditHooks(tenantId: string, provider: Provider, deps: ProviderDeps): void {
  const queue = (ctx: KoaContextWithOIDC, event: AuditEventInput): void => {
    const state = ctx.state as AuditState;
    (state.pendingAudit ??= []).push(event);
  };
  const ipOf = (ctx: KoaContextWithOIDC): string | null => (ctx.req as { ip?: string }).ip ?? ctx.ip;

  provider.use(async (ctx, next) => {
    await next();
    const state = ctx.state as AuditState;
    if (!state.databaseUnavailable && state.pendingAudit) {
      try {
        await Promise.all(state.pendingAudit.map((e) => deps.audit.record(tenantId, e)));
      } catch (error) {
        // Without its committed event the answer (a token) must not leave; during an outage that is a 503.
        if (!isDatabaseUnavailable(error)) throw error;
        deps.onDatabaseUnavailable(error);
        deps.logger.warn({ tenantId, err: error }, 'database unavailable: audit event not written, answer withheld');
        state.databaseUnavailable = true;
      }
    }
    if (!state.databaseUnavailable) {
      // Counted once the answer is final: a withheld answer or a redemption that lost its race issued nothing.
      for (const e of state.pendingAudit ?? []) {
        const grantType = e.details?.grantType;
        if (e.type === 'token.issued') deps.metrics.tokensIssued.inc({ grant_type: typeof grantType === 'string' ? grantType : 'unknown' });
      }
    }
    if (state.databaseUnavailable) {
      // oidc-provider answers 500 for any storage failure; an outage is temporary, so say so (RFC 6749 §5.2).
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.type = 'json';
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable' };
    }
  });

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = grantTypeOf(ctx);
    const accountId = ctx.oidc.entities.Account?.accountId;
    queue(ctx, {
      type: 'token.issued',
      actor: `client:${ctx.oidc.client?.clientId ?? 'unknown'}`,
      subject: accountId ? `user:${accountId}` : `client:${ctx.oidc.client?.clientId ?? 'unknown'}`,
      ip: ipOf(ctx),
      details: { grantType, scope: ctx.oidc.params?.scope ?? null, resource: ctx.oidc.params?.resource ?? null },
    });
  });

  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: Error & { error?: string; error_detail?: string }) => {
    const detail = error.error_detail ?? '';
    const reuse = /already (used|consumed)/.test(detail);
    const grantType = grantTypeOf(ctx);
    queue(ctx, {
      type: reuse ? (grantType === 'refresh_token' ? 'refresh_token.reuse' : 'authorization_code.reuse') : 'token.error',
      actor: `client:${ctx.oidc.client?.clientId ?? 'unknown'}`,
      subject: `client:${ctx.oidc.client?.clientId ?? 'unknown'}`,
      ip: ipOf(ctx),
      details: { grantType, error: error.error ?? 'server_error', detail, grantRevoked: reuse },
    });
  });

  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    queue(ctx, {
      type: 'token.revoked',
      actor: ctx.oidc.client ? `client:${ctx.oidc.client.clientId}` : 'system',
      subject: `grant:${grantId}`,
      ip: ipOf(ctx),
      details: { route: ctx.oidc.route ?? null },
    });
  });

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    queue(ctx, {
      type: 'logout',
      actor: ctx.oidc.session?.accountId ? `user:${ctx.oidc.session.accountId}` : 'anonymous',
      subject: ctx.oidc.session?.accountId ? `user:${ctx.oidc.session.accountId}` : null,
      ip: ipOf(ctx),
      details: { client: ctx.oidc.client?.clientId ?? null },
    });
  });

  provider.on('backchannel.error', (_ctx: KoaContextWithOIDC, error: Error, client: { clientId: string }) => {
    deps.logger.warn({ tenantId, clientId: client.clientId, err: error }, 'back-channel logout delivery failed');
  });

  provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
    if (isDatabaseUnavailable(error)) {
      (ctx.state as AuditState).databaseUnavailable = true;
      deps.onDatabaseUnavailable(error);
      deps.logger.warn({ tenantId, err: error }, 'database unavailable');
      return;
    }
    deps.logger.error({ tenantId, err: error }, 'oidc-provider server error');
  });
}
