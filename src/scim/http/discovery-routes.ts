/**
 * Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, served from the documents
 * in `scim/` with absolute locations. They are read-only: any other method is 405.
 */
import { Router, type Request } from 'express';
import { notFound, ScimError } from '../errors.ts';
import type { ScimDocuments } from '../registry/schema-documents.ts';
import { baseUrl } from './context.ts';
import { listResponse } from './list-params.ts';
import { send } from './respond.ts';

function located<T extends { meta: { location: string } }>(doc: T, base: string, path: string): T {
  return { ...doc, meta: { ...doc.meta, location: `${base}${path}` } };
}

export function discoveryRoutes(docs: ScimDocuments, publicUrl: string): Router {
  const router = Router({ mergeParams: true });
  const base = (req: Request): string => baseUrl(publicUrl, req);

  router.get('/ServiceProviderConfig', (req, res) => {
    send(res, 200, located(docs.serviceProviderConfig, base(req), '/ServiceProviderConfig'));
  });
  router.get('/ResourceTypes', (req, res) => {
    const all = docs.resourceTypes.map((d) => located(d, base(req), `/ResourceTypes/${d.id}`));
    send(res, 200, listResponse(all.length, 1, all));
  });
  router.get('/ResourceTypes/:id', (req, res) => {
    const doc = docs.resourceTypes.find((d) => d.id.toLowerCase() === req.params.id.toLowerCase());
    if (!doc) throw notFound(`no resource type ${req.params.id.slice(0, 64)}`);
    send(res, 200, located(doc, base(req), `/ResourceTypes/${doc.id}`));
  });
  router.get('/Schemas', (req, res) => {
    const all = docs.schemas.map((d) => located(d, base(req), `/Schemas/${d.id}`));
    send(res, 200, listResponse(all.length, 1, all));
  });
  router.get('/Schemas/:id', (req, res) => {
    const doc = docs.schemas.find((d) => d.id.toLowerCase() === req.params.id.toLowerCase());
    if (!doc) throw notFound(`no schema ${req.params.id.slice(0, 120)}`);
    send(res, 200, located(doc, base(req), `/Schemas/${doc.id}`));
  });
  router.all(['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/:id', '/Schemas', '/Schemas/:id'], (_req, res) => {
    res.setHeader('Allow', 'GET, HEAD');
    throw new ScimError(405, undefined, 'discovery documents are read-only');
  });
  return router;
}
