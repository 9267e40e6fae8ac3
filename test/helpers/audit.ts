/** Reading the audit trail through the admin API. */
import { expectStatus } from './fixtures.ts';
import type { TestServer } from './server.ts';

export interface AuditEventView {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly actor: string | null;
  readonly subject: string | null;
  readonly ip: string | null;
  readonly details: Record<string, unknown>;
}

export interface VerificationView {
  readonly ok: boolean;
  readonly segments: number;
  readonly events: number;
  readonly problems: unknown[];
}

/** The newest events of one type (up to 200). */
export async function auditEvents(server: TestServer, tenant: string, type: string): Promise<AuditEventView[]> {
  const query = new URLSearchParams({ type, limit: '200' });
  const page = (await expectStatus(await server.admin(`/tenants/${tenant}/audit-events?${query.toString()}`), 200)) as {
    items: AuditEventView[];
  };
  return page.items;
}

export async function verifyAuditTrail(server: TestServer, tenant: string): Promise<VerificationView> {
  return (await expectStatus(await server.admin(`/tenants/${tenant}/audit-events/verification`), 200)) as VerificationView;
}
