/**
 * Admin API for zero-trust sign-in (DESIGN.md "Admin API"): the tenant's sign-in policy document, and the
 * reset of a user's second factors. Mounted on the tenant router of src/admin/routes.ts, so the admin is
 * authenticated, the tenant exists and JSON bodies are parsed before these run.
 *
 *   GET  /admin/api/tenants/{t}/policy                  → 200 the policy (defaults filled in)
 *   PUT  /admin/api/tenants/{t}/policy                  the whole document → 200 as stored; 400 names each bad field
 *   POST /admin/api/tenants/{t}/users/{id}/mfa/reset    → 200 {factorsRemoved, recoveryCodesRemoved}
 *   PUT  /admin/api/tenants/{t}/users/{id}/compromised  {"compromised": bool, "reason"?} → 200 the mark; marking
 *        denies every sign-in and refresh of the account and ends its sessions and tokens at once
 */
import { Router, type Request } from 'express';
import { parseWith } from '../http/validate.ts';
import type { UserService } from '../identity/user-service.ts';
import type { MfaReset } from '../mfa/mfa-reset.ts';
import { z } from 'zod';
import type { CompromiseService } from '../risk/compromise-service.ts';
import { signInPolicySchema } from '../risk/policy.ts';
import type { PolicyService } from '../risk/policy-service.ts';

export interface PolicyRouteDeps {
  readonly policies: PolicyService;
  readonly mfaReset: MfaReset;
  readonly users: UserService;
  readonly compromise: CompromiseService;
}

const compromiseSchema = z.strictObject({
  compromised: z.boolean(),
  reason: z.string().trim().min(1).max(500).nullable().optional(),
});

const tenantOf = (req: Request): string => String(req.params.tenant);
const ctxOf = (req: Request): { actor: string; ip: string | null } => ({ actor: req.admin?.actor ?? 'unknown', ip: req.ip ?? null });

export function policyRoutes(deps: PolicyRouteDeps): Router {
  const router = Router({ mergeParams: true });

  router.get('/policy', async (req, res) => {
    res.json(await deps.policies.get(tenantOf(req)));
  });

  router.put('/policy', async (req, res) => {
    const policy = parseWith(signInPolicySchema, req.body);
    res.json(await deps.policies.replace(tenantOf(req), policy, ctxOf(req)));
  });

  router.post('/users/:id/mfa/reset', async (req, res) => {
    // 404 for an unknown user (or one of another tenant) before anything changes.
    const user = await deps.users.get(tenantOf(req), req.params.id);
    res.json(await deps.mfaReset.reset(tenantOf(req), user.id, ctxOf(req)));
  });

  router.put('/users/:id/compromised', async (req, res) => {
    const mark = parseWith(compromiseSchema, req.body);
    const user = await deps.users.get(tenantOf(req), req.params.id);
    res.json(await deps.compromise.set(tenantOf(req), user.id, mark, ctxOf(req)));
  });

  return router;
}
