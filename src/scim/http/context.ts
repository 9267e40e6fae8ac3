/** Per-request SCIM context: the tenant, the caller, and the base URL of the tenant's SCIM API. */
import type { Request, Response } from 'express';
import type { ProvisioningContext } from '../../identity/provisioning-service.ts';
import { Forbidden } from '../../lib/errors.ts';
import type { ScimPrincipal } from '../tokens/scim-auth.ts';

/** Where the routes keep the authenticated caller (res.locals is express's per-request bag). */
export function setPrincipal(res: Response, principal: ScimPrincipal): void {
  res.locals.scimPrincipal = principal;
}

export function principalOf(res: Response): ScimPrincipal {
  return res.locals.scimPrincipal as ScimPrincipal;
}

export function tenantOf(req: Request): string {
  return String(req.params.tenant);
}

export function baseUrl(publicUrl: string, req: Request): string {
  return `${publicUrl}/t/${encodeURIComponent(tenantOf(req))}/scim/v2`;
}

/** The provisioning context of a provisioning client; a user's own token may only use /Me. */
export function provisioner(req: Request, res: Response): ProvisioningContext {
  const principal = principalOf(res);
  if (principal.kind !== 'provisioner') throw new Forbidden('a user token may only read /Me');
  return { actor: principal.actor, source: 'scim', ip: req.ip ?? null };
}
