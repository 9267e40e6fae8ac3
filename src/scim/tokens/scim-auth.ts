/**
 * Who calls the SCIM API of a tenant: a SCIM token of that tenant (admin API), or an access token of
 * the tenant's client-credentials grant with scope `scim`. /Me also takes a user's access token. Tokens
 * of another tenant are unknown here (every lookup is by tenant).
 */
import { Forbidden, Unauthorized } from '../../lib/errors.ts';
import { hashSecret } from '../../lib/secrets.ts';
import type { ScimTokenRepository } from './token-repository.ts';

/** The OAuth side, implemented by the composition root over the tenant's authorization server. */
export interface OAuthTokens {
  clientCredentials(tenantId: string, token: string): Promise<{ clientId: string; scopes: readonly string[] } | undefined>;
  userAccessToken(tenantId: string, token: string): Promise<{ accountId: string; clientId: string } | undefined>;
}

export type ScimPrincipal =
  | { readonly kind: 'provisioner'; readonly actor: string }
  | { readonly kind: 'user'; readonly actor: string; readonly userId: string };

/** last_used_at is written at most this often per token (seconds). */
const LAST_USED_GRANULARITY = 60;
const BEARER = /^Bearer ([\x21-\x7E]{1,4096})$/i;

export class ScimAuth {
  readonly #tokens: ScimTokenRepository;
  readonly #oauth: OAuthTokens;

  constructor(tokens: ScimTokenRepository, oauth: OAuthTokens) {
    this.#tokens = tokens;
    this.#oauth = oauth;
  }

  async authenticate(tenantId: string, authorization: string | undefined): Promise<ScimPrincipal> {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (!token) throw new Unauthorized('a bearer token is required');
    const row = await this.#tokens.findLive(tenantId, hashSecret(token));
    if (row) {
      const stale = !row.last_used_at || Date.now() - row.last_used_at.getTime() > LAST_USED_GRANULARITY * 1000;
      if (stale) await this.#tokens.touch(tenantId, row.id, LAST_USED_GRANULARITY);
      return { kind: 'provisioner', actor: `scim:${row.id}` };
    }
    const client = await this.#oauth.clientCredentials(tenantId, token);
    if (client) {
      if (!client.scopes.includes('scim')) throw new Forbidden('the access token lacks scope scim');
      return { kind: 'provisioner', actor: `scim-client:${client.clientId}` };
    }
    const user = await this.#oauth.userAccessToken(tenantId, token);
    if (user) return { kind: 'user', actor: `user:${user.accountId}`, userId: user.accountId };
    throw new Unauthorized('the token is not valid for this tenant\'s SCIM API');
  }
}
