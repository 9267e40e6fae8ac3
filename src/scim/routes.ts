/**
 * The SCIM 2.0 API of a tenant, mounted at `/t/{tenant}/scim/v2`: authenticate, check the media type,
 * parse bounded JSON bodies, then discovery, /Me, Users, Groups and Bulk. Every error and every unknown
 * path answers with the SCIM Error schema (http/error-handler.ts), never falling through to OIDC.
 */
import express, { Router, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ScimBulk } from './bulk.ts';
import { notFound, ScimError } from './errors.ts';
import type { ScimGroups } from './groups.ts';
import { baseUrl, provisioner, setPrincipal, tenantOf } from './http/context.ts';
import { discoveryRoutes } from './http/discovery-routes.ts';
import { scimErrorHandler } from './http/error-handler.ts';
import { meRoutes } from './http/me-routes.ts';
import { resourceRoutes } from './http/resource-routes.ts';
import { send } from './http/respond.ts';
import type { ScimDocuments } from './registry/schema-documents.ts';
import type { ScimAuth } from './tokens/scim-auth.ts';
import type { ScimUsers } from './users.ts';

export interface ScimDeps {
  readonly auth: ScimAuth;
  readonly users: ScimUsers;
  readonly groups: ScimGroups;
  readonly bulk: ScimBulk;
  readonly documents: ScimDocuments;
  readonly publicUrl: string;
  /** Largest body of a single-resource request (MAX_BODY_BYTES); Bulk has its own advertised limit. */
  readonly maxBodyBytes: number;
  readonly logger: Logger;
}

const JSON_TYPES = ['application/scim+json', 'application/json'];

/** Bulk bodies may exceed MAX_BODY_BYTES up to the advertised maxPayloadSize: the app's guard lets them by. */
export function isScimBulkPath(path: string): boolean {
  return /^\/t\/[^/]+\/scim\/v2\/bulk\/?$/i.test(path);
}

/** RFC 7644 §3.1: requests carry application/scim+json (application/json is accepted too). */
const requireScimJson: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is(JSON_TYPES)) {
    next(new ScimError(415, undefined, 'send the body as application/scim+json'));
    return;
  }
  next();
};

export function scimRoutes(deps: ScimDeps): Router {
  const router = Router({ mergeParams: true });
  router.use(async (req, res, next) => {
    setPrincipal(res, await deps.auth.authenticate(tenantOf(req), req.get('authorization')));
    next();
  });
  router.use(requireScimJson);

  router.post('/Bulk', express.json({ limit: deps.documents.serviceProviderConfig.bulk.maxPayloadSize, type: JSON_TYPES, strict: true }), async (req, res) => {
    const ctx = provisioner(req, res);
    send(res, 200, await deps.bulk.run(tenantOf(req), req.body, baseUrl(deps.publicUrl, req), ctx));
  });
  router.all('/Bulk', (_req, res) => {
    res.setHeader('Allow', 'POST');
    throw new ScimError(405, undefined, 'Bulk takes POST only');
  });

  router.use(express.json({ limit: deps.maxBodyBytes, type: JSON_TYPES, strict: true }));
  router.use(discoveryRoutes(deps.documents, deps.publicUrl));
  router.use(meRoutes(deps.users, deps.publicUrl));
  router.use(
    resourceRoutes({
      users: deps.users,
      groups: deps.groups,
      publicUrl: deps.publicUrl,
      maxResults: deps.documents.serviceProviderConfig.filter.maxResults,
    }),
  );
  router.use((req) => {
    throw notFound(`no SCIM endpoint ${req.method} ${req.path.slice(0, 100)}`);
  });
  router.use(scimErrorHandler(deps.logger));
  return router;
}
