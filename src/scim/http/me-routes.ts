/**
 * /Me (RFC 7644 §3.11): the signed-in user's own resource, for a user's access token of the tenant.
 * Reading is supported; changing oneself through SCIM is not (501), since attributes such as `active`
 * and `userName` belong to the provisioning systems.
 */
import { Router } from 'express';
import { ScimError } from '../errors.ts';
import { projection } from '../resource/projection.ts';
import type { ScimUsers } from '../users.ts';
import { baseUrl, principalOf, tenantOf } from './context.ts';
import { send } from './respond.ts';

export function meRoutes(users: ScimUsers, publicUrl: string): Router {
  const router = Router({ mergeParams: true });
  router.get('/Me', async (req, res) => {
    const principal = principalOf(res);
    if (principal.kind !== 'user') throw new ScimError(501, undefined, '/Me answers a user\'s access token; this token belongs to a provisioning client');
    const attributes = typeof req.query.attributes === 'string' ? req.query.attributes : undefined;
    const excluded = typeof req.query.excludedAttributes === 'string' ? req.query.excludedAttributes : undefined;
    const me = await users.get(tenantOf(req), principal.userId, baseUrl(publicUrl, req), projection(users.schema, attributes, excluded));
    res.setHeader('Location', `${baseUrl(publicUrl, req)}/Users/${me.id}`);
    send(res, 200, me.resource, me.version);
  });
  router.all('/Me', () => {
    throw new ScimError(501, undefined, 'only GET is supported on /Me');
  });
  return router;
}
