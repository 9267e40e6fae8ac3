/** Request id, access log line and per-route metrics for every request. */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestContext(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(req.originalUrl);
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      logger.info({ reqId: req.id, method: req.method, route, status: res.statusCode, ms: seconds * 1000 }, 'request');
    });
    next();
  };
}

/** Path segments oidc-provider uses as fixed route names, not ids. */
const FIXED_LEAVES = new Set(['introspection', 'revocation', 'confirm', 'success']);

/** A low-cardinality route name: tenant ids, uids and ids are replaced by placeholders. */
export function routeLabel(url: string): string {
  const path = url.split('?')[0] ?? '/';
  return path
    .replace(/^\/t\/[^/]+/, '/t/:tenant')
    .replace(/\/interaction\/[^/]+/, '/interaction/:uid')
    .replace(/\/admin\/api\/tenants\/[^/]+/, '/admin/api/tenants/:t')
    .replace(/\/(users|clients|resource-servers)\/[^/]+/, '/$1/:id')
    .replace(/\/(me|token|auth|reg)\/([^/]+)$/, (whole, route: string, leaf: string) =>
      FIXED_LEAVES.has(leaf) ? whole : `/${route}/:id`,
    );
}
