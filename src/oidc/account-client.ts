/**
 * The account page as a first-party OIDC client of each tenant (as Keycloak's account console is): a
 * built-in public client `portcullis-account`, registered lazily through ClientService, whose only
 * redirect URI is `/t/{tenant}/account/callback`. The page sends the browser through a normal
 * authorization-code + PKCE request to the tenant's own issuer (so login, risk, MFA and `prompt=login`
 * step-up are exactly those of every other client), and redeems the code here, in process, through
 * oidc-provider's own AuthorizationCode model: the same single-use consume as the token endpoint, with the
 * client, redirect URI and PKCE verifier checked, without an HTTP round trip to ourselves. What it needs
 * from the code (subject, auth_time, amr, acr, session uid) is what an ID token would have said.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { Conflict } from '../lib/errors.ts';
import type { ClientMetadataInput } from './client-schemas.ts';
import type { ClientService } from './client-service.ts';
import type { ProviderRegistry } from './provider-registry.ts';

export const ACCOUNT_CLIENT_ID = 'portcullis-account';

export interface AccountSignIn {
  readonly userId: string;
  /** Seconds since the epoch, as in `auth_time`. */
  readonly authTime: number;
  readonly amr: readonly string[];
  readonly acr: string | null;
  /** oidc-provider's session uid: lets the account page end that very session at sign-out. */
  readonly sessionUid: string | null;
}

export interface SessionView {
  readonly uid: string;
  readonly signedInAt: Date | null;
  readonly expiresAt: Date | null;
  readonly clients: readonly string[];
  readonly amr: readonly string[];
}

interface SessionPayload {
  uid?: string;
  loginTs?: number;
  exp?: number;
  amr?: string[];
  authorizations?: Record<string, unknown>;
}

export class AccountClient {
  readonly #db: Kysely<Database>;
  readonly #registry: ProviderRegistry;
  readonly #clients: ClientService;
  readonly #publicUrl: string;

  constructor(deps: { db: Kysely<Database>; registry: ProviderRegistry; clients: ClientService; publicUrl: string }) {
    this.#db = deps.db;
    this.#registry = deps.registry;
    this.#clients = deps.clients;
    this.#publicUrl = deps.publicUrl;
  }

  redirectUri(tenantId: string): string {
    return `${this.#publicUrl}/t/${tenantId}/account/callback`;
  }

  /** Registers the tenant's account client when it is missing (or points at an old PUBLIC_URL). */
  async ensure(tenantId: string): Promise<void> {
    const redirectUri = this.redirectUri(tenantId);
    const metadata: ClientMetadataInput = {
      client_name: 'Account',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
    const existing = await this.#clients.get(tenantId, ACCOUNT_CLIENT_ID).catch(() => undefined);
    const ctx = { actor: 'system', ip: null };
    if (!existing) {
      try {
        await this.#clients.register(tenantId, { client_id: ACCOUNT_CLIENT_ID, ...metadata }, ctx);
      } catch (error) {
        if (!(error instanceof Conflict)) throw error;
      }
      return;
    }
    const uris = existing.redirect_uris;
    if (!Array.isArray(uris) || uris.length !== 1 || uris[0] !== redirectUri) {
      await this.#clients.update(tenantId, ACCOUNT_CLIENT_ID, metadata, ctx);
    }
  }

  /** The authorization request; `fresh` asks for a new sign-in (`prompt=login`, `max_age=0`). */
  authorizationUrl(tenantId: string, p: { state: string; codeChallenge: string; fresh: boolean }): string {
    const query = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      redirect_uri: this.redirectUri(tenantId),
      response_type: 'code',
      scope: 'openid',
      state: p.state,
      code_challenge: p.codeChallenge,
      code_challenge_method: 'S256',
      ...(p.fresh ? { prompt: 'login', max_age: '0' } : {}),
    });
    return `/t/${tenantId}/auth?${query.toString()}`;
  }

  /** Redeems an authorization code of the account client once; undefined when it is not valid for us. */
  async redeem(tenantId: string, code: string, verifier: string): Promise<AccountSignIn | undefined> {
    const provider = await this.#registry.get(tenantId);
    if (!provider || code.length > 512) return undefined;
    const found = await provider.AuthorizationCode.find(code);
    if (!found?.isValid || found.clientId !== ACCOUNT_CLIENT_ID || found.redirectUri !== this.redirectUri(tenantId)) return undefined;
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (found.codeChallengeMethod !== 'S256' || found.codeChallenge !== challenge || !found.accountId || !found.authTime) return undefined;
    try {
      await found.consume();
    } catch {
      return undefined; // consumed by a concurrent request: the adapter has revoked the grant
    }
    const record = found as unknown as { amr?: string[]; acr?: string; sessionUid?: string };
    return {
      userId: found.accountId,
      authTime: found.authTime,
      amr: record.amr ?? [],
      acr: record.acr ?? null,
      sessionUid: record.sessionUid ?? null,
    };
  }

  /** The user's live oidc-provider sessions in this tenant. */
  async sessions(tenantId: string, userId: string): Promise<SessionView[]> {
    const rows = await this.#sessionRows(tenantId, userId).select('payload').execute();
    return rows
      .map(({ payload }) => payload as SessionPayload)
      .filter((p): p is SessionPayload & { uid: string } => typeof p.uid === 'string')
      .map((p) => ({
        uid: p.uid,
        signedInAt: typeof p.loginTs === 'number' ? new Date(p.loginTs * 1000) : null,
        expiresAt: typeof p.exp === 'number' ? new Date(p.exp * 1000) : null,
        clients: Object.keys(p.authorizations ?? {}),
        amr: Array.isArray(p.amr) ? p.amr : [],
      }))
      .sort((a, b) => (b.signedInAt?.getTime() ?? 0) - (a.signedInAt?.getTime() ?? 0));
  }

  /** Ends one of the user's sessions (by its uid, never the cookie value); false when there is none. */
  async endSession(tenantId: string, userId: string, uid: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('oidc_payloads')
      .where('tenant_id', '=', tenantId)
      .where('model', '=', 'Session')
      .where(sql<boolean>`payload ? 'accountId'`)
      .where(sql<string>`payload->>'accountId'`, '=', userId)
      .where(sql<string>`payload->>'uid'`, '=', uid)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  #sessionRows(tenantId: string, userId: string) {
    return this.#db
      .selectFrom('oidc_payloads')
      .where('tenant_id', '=', tenantId)
      .where('model', '=', 'Session')
      .where(sql<boolean>`payload ? 'accountId'`)
      .where(sql<string>`payload->>'accountId'`, '=', userId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]));
  }
}
