/**
 * The admin REST API (DESIGN.md "Admin API", a stable contract). Routes validate with zod and call
 * services; errors become `{error, error_description}` in jsonErrorHandler.
 */
import express, { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { AuditRepository } from '../audit/audit-repository.ts';
import { parseWith } from '../http/validate.ts';
import type { UserService } from '../identity/user-service.ts';
import { createUserSchema, updateUserSchema } from '../identity/user-schemas.ts';
import { AppError, NotFound } from '../lib/errors.ts';
import type { ClientService } from '../oidc/client-service.ts';
import { clientMetadataSchema, clientPatchSchema } from '../oidc/client-schemas.ts';
import { TTL } from '../oidc/provider-factory.ts';
import type { ProviderRegistry } from '../oidc/provider-registry.ts';
import { resourceServerSchema, type ResourceServerStore } from '../oidc/resource-servers.ts';
import type { TenantService } from '../tenants/tenant-service.ts';
import { precedenceSchema, type AttributePrecedenceStore } from '../identity/attribute-precedence.ts';
import { createScimTokenSchema, type ScimTokenService } from '../scim/tokens/token-service.ts';
import { createTenantSchema } from '../tenants/tenant-service.ts';
import type { AdminAuth, AdminPrincipal } from './admin-auth.ts';
import { openApiDocument } from './openapi.ts';
import { policyRoutes, type PolicyRouteDeps } from './policy-routes.ts';

export interface AdminDeps {
  readonly auth: AdminAuth;
  readonly tenants: TenantService;
  readonly users: UserService;
  readonly clients: ClientService;
  readonly resourceServers: ResourceServerStore;
  readonly auditEvents: AuditRepository;
  readonly registry: ProviderRegistry;
  readonly maxBodyBytes: number;
  readonly publicUrl: string;
  /** SCIM tokens and attribute precedence (optional so that older callers keep compiling). */
  readonly scimTokens?: ScimTokenService;
  readonly attributePrecedence?: AttributePrecedenceStore;
  /** Sign-in policy and MFA reset (optional so that older callers keep compiling). */
  readonly signIn?: PolicyRouteDeps;
}

declare module 'express-serve-static-core' {
  interface Request {
    admin?: AdminPrincipal;
  }
}

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
const userListQuery = pageQuery.extend({ q: z.string().max(200).optional(), cursor: z.uuid().optional() });
const auditQuery = pageQuery.extend({
  cursor: z.uuid().optional(),
  type: z.string().max(100).optional(),
  subject: z.string().max(300).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
});
const rotateSchema = z.strictObject({
  publishForSeconds: z.number().int().min(0).max(30 * 24 * 3600).optional(),
});

function ctxOf(req: Request): { actor: string; ip: string | null } {
  return { actor: req.admin?.actor ?? 'unknown', ip: req.ip ?? null };
}

/** JSON bodies only, bounded; anything else is refused before parsing. */
function jsonBody(limit: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'DELETE' || req.method === 'HEAD') return next();
    if (!req.is('application/json')) {
      return next(new AppError('unsupported_media_type', 415, 'send the body as application/json'));
    }
    next();
  };
  return [requireJson, express.json({ limit, strict: true, type: 'application/json' })];
}

export function adminRoutes(deps: AdminDeps): Router {
  const router = Router();

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(deps.publicUrl));
  });

  router.use(async (req, _res, next) => {
    req.admin = await deps.auth.authenticate(req.get('authorization'));
    next();
  });
  router.use(...jsonBody(deps.maxBodyBytes));

  // Tenants
  router.post('/tenants', async (req, res) => {
    const input = parseWith(createTenantSchema, req.body);
    res.status(201).json(await deps.tenants.create(input, ctxOf(req)));
  });
  router.get('/tenants', async (req, res) => {
    const q = parseWith(pageQuery, req.query);
    res.json(await deps.tenants.list(q));
  });

  const tenant = Router({ mergeParams: true });
  router.use('/tenants/:tenant', async (req, _res, next) => {
    if (!(await deps.tenants.find(String(req.params.tenant)))) throw new NotFound('no such tenant');
    next();
  }, tenant);
  const t = (req: Request): string => String(req.params.tenant);

  tenant.get('/', async (req, res) => {
    res.json(await deps.tenants.get(t(req)));
  });
  tenant.post('/keys/rotate', async (req, res) => {
    const input = parseWith(rotateSchema, req.body ?? {});
    const publishFor = input.publishForSeconds ?? 2 * Math.max(TTL.AccessToken, TTL.IdToken, TTL.ClientCredentials);
    const kids = await deps.tenants.rotateKeys(t(req), publishFor, ctxOf(req));
    deps.registry.invalidate(t(req));
    res.json({ active: kids, previousKeysPublishedForSeconds: publishFor });
  });

  // Clients
  tenant.post('/clients', async (req, res) => {
    const input = parseWith(clientMetadataSchema, req.body);
    res.status(201).json(await deps.clients.register(t(req), input, ctxOf(req)));
  });
  tenant.get('/clients', async (req, res) => {
    res.json(await deps.clients.list(t(req), parseWith(pageQuery, req.query)));
  });
  tenant.get('/clients/:id', async (req, res) => {
    res.json(await deps.clients.get(t(req), req.params.id));
  });
  tenant.patch('/clients/:id', async (req, res) => {
    const input = parseWith(clientPatchSchema, req.body);
    res.json(await deps.clients.update(t(req), req.params.id, input, ctxOf(req)));
  });
  tenant.delete('/clients/:id', async (req, res) => {
    await deps.clients.delete(t(req), req.params.id, ctxOf(req));
    res.status(204).end();
  });

  // Users
  tenant.post('/users', async (req, res) => {
    const input = parseWith(createUserSchema, req.body);
    res.status(201).json(await deps.users.create(t(req), input, ctxOf(req)));
  });
  tenant.get('/users', async (req, res) => {
    const q = parseWith(userListQuery, req.query);
    res.json(await deps.users.list(t(req), { search: q.q, cursor: q.cursor, limit: q.limit }));
  });
  tenant.get('/users/:id', async (req, res) => {
    res.json(await deps.users.get(t(req), req.params.id));
  });
  tenant.patch('/users/:id', async (req, res) => {
    const input = parseWith(updateUserSchema, req.body);
    res.json(await deps.users.update(t(req), req.params.id, input, ctxOf(req)));
  });
  tenant.delete('/users/:id', async (req, res) => {
    await deps.users.delete(t(req), req.params.id, ctxOf(req));
    res.status(204).end();
  });

  // Resource servers (APIs that receive JWT access tokens)
  tenant.post('/resource-servers', async (req, res) => {
    const input = parseWith(resourceServerSchema, req.body);
    res.status(201).json(await deps.resourceServers.create(t(req), input, ctxOf(req)));
  });
  tenant.get('/resource-servers', async (req, res) => {
    res.json({ items: await deps.resourceServers.list(t(req)), next: null });
  });
  tenant.delete('/resource-servers', async (req, res) => {
    const { identifier } = parseWith(z.object({ identifier: z.string().max(2048) }), req.query);
    await deps.resourceServers.delete(t(req), identifier, ctxOf(req));
    res.status(204).end();
  });

  // Audit trail
  tenant.get('/audit-events', async (req, res) => {
    const q = parseWith(auditQuery, req.query);
    res.json(
      await deps.auditEvents.list(t(req), {
        type: q.type,
        subject: q.subject,
        since: q.since ? new Date(q.since) : undefined,
        cursor: q.cursor,
        limit: q.limit,
      }),
    );
  });
  tenant.get('/audit-events/verification', async (req, res) => {
    res.json(await deps.auditEvents.verify(t(req)));
  });
  // Sign-in policy (GET/PUT /policy) and MFA reset (POST /users/{id}/mfa/reset).
  if (deps.signIn) tenant.use(policyRoutes(deps.signIn));

  // SCIM tokens: the bearer a provisioning system (Entra ID, Okta) uses for the tenant's SCIM API.
  const scimTokens = deps.scimTokens;
  if (scimTokens) {
    tenant.post('/scim-tokens', async (req, res) => {
      const input = parseWith(createScimTokenSchema, req.body);
      res.status(201).json(await scimTokens.create(t(req), input, ctxOf(req)));
    });
    tenant.get('/scim-tokens', async (req, res) => {
      const q = parseWith(pageQuery.extend({ cursor: z.uuid().optional() }), req.query);
      res.json(await scimTokens.list(t(req), q));
    });
    tenant.delete('/scim-tokens/:id', async (req, res) => {
      await scimTokens.revoke(t(req), req.params.id, ctxOf(req));
      res.status(204).end();
    });
  }
  // Which source (directory, SCIM, local) wins an attribute.
  const precedence = deps.attributePrecedence;
  if (precedence) {
    tenant.get('/attribute-precedence', async (req, res) => {
      res.json(await precedence.get(t(req)));
    });
    tenant.put('/attribute-precedence', async (req, res) => {
      const input = parseWith(precedenceSchema, req.body);
      await precedence.put(t(req), input, ctxOf(req));
      res.json(input);
    });
  }

  router.use((_req, _res, next) => {
    next(new NotFound('no such admin API route'));
  });
  return router;
}
