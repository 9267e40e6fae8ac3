/** /Users and /Groups (RFC 7644 §3.2–3.6): list, search, read, create, replace, patch, delete. */
import { Router, type Request, type Response } from 'express';
import type { ScimGroups } from '../groups.ts';
import { ScimError } from '../errors.ts';
import type { ScimUsers } from '../users.ts';
import { baseUrl, provisioner, tenantOf } from './context.ts';
import { listRequest, listResponse, searchRequest } from './list-params.ts';
import { notModified, pinnedVersion, send } from './respond.ts';
import { projection } from '../resource/projection.ts';

export interface ResourceRouteDeps {
  readonly users: ScimUsers;
  readonly groups: ScimGroups;
  readonly publicUrl: string;
  readonly maxResults: number;
}

const query = (req: Request): Record<string, unknown> => req.query;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function resourceRoutes(deps: ResourceRouteDeps): Router {
  const router = Router({ mergeParams: true });
  const base = (req: Request): string => baseUrl(deps.publicUrl, req);
  const pinned = (req: Request): string | undefined => pinnedVersion(req.get('if-match'));

  for (const [endpoint, service] of [
    ['/Users', deps.users],
    ['/Groups', deps.groups],
  ] as const) {
    router.get(endpoint, async (req, res) => {
      provisioner(req, res);
      const { query: q, projection: p } = listRequest(query(req), service.schema, deps.maxResults);
      const page = await service.list(tenantOf(req), q, base(req), p);
      send(res, 200, listResponse(page.total, q.startIndex, page.resources));
    });
    router.post(`${endpoint}/.search`, async (req, res) => {
      provisioner(req, res);
      const { query: q, projection: p } = searchRequest(req.body, service.schema, deps.maxResults);
      const page = await service.list(tenantOf(req), q, base(req), p);
      send(res, 200, listResponse(page.total, q.startIndex, page.resources));
    });
    router.get(`${endpoint}/:id`, async (req, res) => {
      provisioner(req, res);
      const p = projection(service.schema, str(req.query.attributes), str(req.query.excludedAttributes));
      const found = await service.get(tenantOf(req), req.params.id, base(req), p);
      if (notModified(req.get('if-none-match'), found.version)) {
        res.setHeader('ETag', `W/"${found.version}"`);
        res.status(304).end();
        return;
      }
      send(res, 200, found.resource, found.version);
    });
    router.post(endpoint, async (req, res) => {
      const created = await service.create(tenantOf(req), req.body, base(req), provisioner(req, res));
      res.setHeader('Location', `${base(req)}${endpoint}/${created.id}`);
      send(res, 201, created.resource, created.version);
    });
    router.put(`${endpoint}/:id`, async (req, res) => {
      const ctx = provisioner(req, res);
      const replaced = await service.replace(tenantOf(req), req.params.id, req.body, pinned(req), base(req), ctx);
      send(res, 200, replaced.resource, replaced.version);
    });
    router.delete(`${endpoint}/:id`, async (req, res) => {
      await service.delete(tenantOf(req), req.params.id, pinned(req), provisioner(req, res));
      res.status(204).end();
    });
  }

  router.patch('/Users/:id', async (req, res) => {
    const ctx = provisioner(req, res);
    const p = projection(deps.users.schema, str(req.query.attributes), str(req.query.excludedAttributes));
    const patched = await deps.users.patch(tenantOf(req), req.params.id, req.body, pinned(req), base(req), ctx);
    send(res, 200, p.apply(patched.resource), patched.version);
  });
  // A group can hold many members: answer 204 unless the client asks for attributes (RFC 7644 §3.5.2).
  router.patch('/Groups/:id', async (req, res) => {
    const ctx = provisioner(req, res);
    const row = await deps.groups.patch(tenantOf(req), req.params.id, req.body, pinned(req), ctx);
    const attributes = str(req.query.attributes);
    const excluded = str(req.query.excludedAttributes);
    if (attributes === undefined && excluded === undefined) {
      res.setHeader('ETag', `W/"${String(row.version)}"`);
      res.status(204).end();
      return;
    }
    const rendered = await deps.groups.render(tenantOf(req), row, base(req), projection(deps.groups.schema, attributes, excluded));
    send(res, 200, rendered.resource, rendered.version);
  });

  const notAllowed = (allow: string): ((req: Request, res: Response) => void) => (req, res) => {
    res.setHeader('Allow', allow);
    throw new ScimError(405, undefined, `${req.method} is not allowed here`);
  };
  for (const endpoint of ['/Users', '/Groups']) {
    router.all(endpoint, notAllowed('GET, POST'));
    router.all(`${endpoint}/.search`, notAllowed('POST'));
    router.all(`${endpoint}/:id`, notAllowed('GET, PUT, PATCH, DELETE'));
  }
  return router;
}
