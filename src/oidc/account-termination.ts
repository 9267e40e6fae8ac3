/**
 * What "this user is gone" means for OIDC: every client that holds a session of the user and registered a
 * back-channel logout URI is told (a signed logout token), then all sessions, grants and tokens are
 * deleted, and a CAEP-style `session-revoked` event is recorded.
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html
 * @see https://openid.net/specs/openid-caep-1_0.html#section-3.1
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import type { IdentityEvent } from '../identity/identity-events.ts';
import { revokeAccount } from './adapter.ts';
import type { ProviderRegistry } from './provider-registry.ts';

export const CAEP_SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

interface BackchannelSender {
  backchannelLogout(sub: string, sid: string): Promise<void>;
}

interface SessionPayload {
  authorizations?: Record<string, { sid?: string }>;
}

export function accountTerminator(deps: {
  db: Kysely<Database>;
  registry: ProviderRegistry;
  audit: AuditLog;
  logger: Logger;
}): (event: IdentityEvent) => Promise<void> {
  return async (event) => {
    const { tenantId, userId } = event;
    const sessions = await deps.db
      .selectFrom('oidc_payloads')
      .select('payload')
      .where('tenant_id', '=', tenantId)
      .where('model', '=', 'Session')
      .where(sql<boolean>`payload ? 'accountId'`)
      .where(sql<string>`payload->>'accountId'`, '=', userId)
      .execute();
    const provider = sessions.length > 0 ? await deps.registry.get(tenantId) : undefined;
    const notified: string[] = [];
    const failed: string[] = [];
    if (provider) {
      const deliveries = sessions.flatMap(({ payload }) =>
        Object.entries((payload as SessionPayload).authorizations ?? {}).map(async ([clientId, { sid }]) => {
          const client = await provider.Client.find(clientId);
          if (!client?.backchannelLogoutUri) return;
          try {
            // Client#backchannelLogout(sub, sid) is oidc-provider's own sender (missing from its typings).
            await (client as unknown as BackchannelSender).backchannelLogout(userId, sid ?? '');
            notified.push(clientId);
          } catch (err) {
            failed.push(clientId);
            deps.logger.warn({ tenantId, clientId, err }, 'back-channel logout delivery failed');
          }
        }),
      );
      await Promise.all(deliveries);
    }
    const removed = await revokeAccount(deps.db, tenantId, userId);
    await deps.audit.record(tenantId, {
      type: 'caep.session_revoked',
      actor: event.actor ?? 'system',
      subject: `user:${userId}`,
      details: {
        event: CAEP_SESSION_REVOKED,
        reason: event.type,
        initiatingEntity: event.actor?.startsWith('scim') ? 'admin' : 'policy',
        sessions: sessions.length,
        revokedRecords: removed,
        backchannelNotified: notified,
        backchannelFailed: failed,
      },
    });
  };
}
