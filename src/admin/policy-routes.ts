/**
 * Admin API for zero-trust sign-in (DESIGN.md "Admin API"): the tenant's sign-in policy document, and the
 * reset of a user's second factors. Mounted on the tenant router of src/admin/routes.ts, so the admin is
 * authenticated, the tenant exists and JSON bodies are parsed before these run.
 *
 *   GET  /admin/api/tenants/{t}/policy                  → 200 the policy (defaults filled in)
 *   PUT  /admin/api/tenants/{t}/policy                  the whole document → 200 as stored; 400 names each bad field
 *   POST /admin/api/tenants/{t}/users/{id}/mfa/reset    → 200 {factorsRemoved, recoveryCodesRemoved}
 */
import { Router, type Request } from 'express';
import { parseWith } from '../http/validate.ts';
import type { UserService } from '../identity/user-service.ts';
import type { MfaReset } from '../mfa/mfa-reset.ts';
import { signInPolicySchema } from '../risk/policy.ts';
import type { PolicyService } from '../risk/policy-service.ts';

export interface PolicyRouteDeps {
  readonly policies: PolicyService;
  readonly mfaReset: MfaReset;
  readonly users: UserService;
}

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

  return router;
}
