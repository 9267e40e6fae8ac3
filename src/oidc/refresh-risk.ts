/**
 * Risk at refresh-token use: before oidc-provider's token endpoint handles `grant_type=refresh_token`, the
 * refresh is assessed for its account with the request's IP and user agent (src/risk/refresh-check.ts).
 * When refused, the whole grant is revoked (every token of it) and the client gets `invalid_grant`
 * (RFC 6749 §5.2), so a session that became risky stops working.
 * The form body was parsed by express (src/oidc/token-rate-limit.ts); oidc-provider reuses it.
 */
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import type { RefreshRiskCheck } from '../risk/refresh-check.ts';
import { rememberAccount } from './account.ts';
import { isAcr } from './step-up-check.ts';

const refreshBody = z.object({ grant_type: z.literal('refresh_token'), refresh_token: z.string().min(1).max(4096) });

export interface RefreshRiskDeps {
  readonly check: RefreshRiskCheck;
  readonly audit: AuditLog;
}

export function installRefreshRisk(tenantId: string, provider: Provider, deps: RefreshRiskDeps): void {
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
    const body = refreshBody.safeParse((ctx.req as { body?: unknown }).body);
    if (!body.success) return next();
    const token = await provider.RefreshToken.find(body.data.refresh_token);
    // Unknown, expired or already used tokens: oidc-provider answers (and handles reuse) itself.
    if (!token?.accountId || !token.clientId || !token.grantId || token.isExpired || token.consumed) return next();
    const ip = (ctx.req as { ip?: string }).ip ?? ctx.ip;
    const userAgent = ctx.get('user-agent') || undefined;
    const client = await provider.Client.find(token.clientId);
    const verdict = await deps.check.check({
      tenantId,
      accountId: token.accountId,
      clientId: token.clientId,
      ip,
      userAgent,
      fromUserDevice: client?.tokenEndpointAuthMethod === 'none',
      ...(isAcr(token.acr) ? { acr: token.acr } : {}),
    });
    if (verdict.ok) {
      rememberAccount(ctx, verdict.user);
      return next();
    }

    await provider.RefreshToken.revokeByGrantId(token.grantId);
    await deps.audit.record(tenantId, {
      type: 'refresh_token.denied',
      actor: `client:${token.clientId}`,
      subject: `user:${token.accountId}`,
      ip,
      details: {
        reason: verdict.reason,
        grantId: token.grantId,
        grantRevoked: true,
        assessmentId: verdict.assessment?.id ?? null,
        level: verdict.assessment?.level ?? null,
        codes: verdict.assessment?.contributions.filter((c) => c.points !== 0).map((c) => c.code) ?? [],
      },
    });
    ctx.status = 400;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'json';
    ctx.body = { error: 'invalid_grant', error_description: 'the refresh token can no longer be used; sign in again' };
  });
}
