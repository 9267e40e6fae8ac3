/** Audit event types and the shape callers hand to the audit log. */
export const AUDIT_EVENT_TYPES = [
  'signin.success',
  'signin.failure',
  'logout',
  'token.issued',
  'token.revoked',
  'refresh_token.reuse',
  'authorization_code.reuse',
  'keys.rotated',
  'tenant.created',
  'client.created',
  'client.updated',
  'client.deleted',
  'user.created',
  'user.updated',
  'user.deleted',
  'admin.token_rejected',
  // Zero-trust sign-in (src/risk, src/mfa, src/oidc/interactions).
  'risk.assessment',
  'signin.step_up.success',
  'signin.step_up.failure',
  'signin.denied',
  'signin.locked',
  'signin.throttled',
  'refresh_token.denied',
  'policy.updated',
  'mfa.enrolled',
  'mfa.recovery_codes.generated',
  'mfa.recovery_code.used',
  'mfa.reset',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number] | (string & {});

export interface AuditEventInput {
  readonly type: AuditEventType;
  /** Who did it: `user:{id}`, `client:{id}`, `admin:bootstrap`, `system`. */
  readonly actor?: string | null;
  /** What it concerns: `user:{id}`, `client:{id}`, `tenant:{id}`, `grant:{id}`. */
  readonly subject?: string | null;
  readonly ip?: string | null;
  /** Typed evidence; never secrets. */
  readonly details?: Record<string, unknown>;
}
