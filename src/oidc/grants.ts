/**
 * Which authorizations need the consent page. First-party clients (the default) are granted what they ask
 * for without a page; clients registered with `require_consent: true`, native apps, and any request with
 * `prompt=consent` (which OpenID Connect requires for `offline_access`) go through consent.
 */
import type { Grant, KoaContextWithOIDC } from 'oidc-provider';

export async function loadGrantFor(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const client = oidc.client;
  const session = oidc.session;
  if (!client || !session?.accountId) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const needsConsentPage =
    client.require_consent === true || client.applicationType === 'native' || oidc.prompts.has('consent');
  if (needsConsentPage) return existing;

  const grant = existing ?? new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  const scope = oidc.params?.scope;
  if (typeof scope === 'string') grant.addOIDCScope(scope.split(' ').filter((s) => s !== 'offline_access'));
  const claims = oidc.claims;
  if (claims.id_token) grant.addOIDCClaims(Object.keys(claims.id_token));
  if (claims.userinfo) grant.addOIDCClaims(Object.keys(claims.userinfo));
  for (const [indicator, rs] of Object.entries(oidc.resourceServers ?? {})) {
    if (rs.scope) grant.addResourceScope(indicator, rs.scope);
  }
  await grant.save();
  return grant;
}
