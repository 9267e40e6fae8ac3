/**
 * Per-client rate limit on the token and introspection endpoints, counted across all nodes. The client is
 * named by HTTP Basic credentials or the `client_id` form field; the body is parsed here (bounded) and
 * oidc-provider reuses the parsed body.
 */
import express, { Router, type RequestHandler } from 'express';
import type { RateLimiter } from '../http/rate-limit.ts';

export function tokenRateLimit(limiter: RateLimiter, perMinute: number, maxBodyBytes: number): Router {
  const router = Router({ mergeParams: true });
  const limit: RequestHandler = async (req, _res, next) => {
    const clientId = clientIdOf(req.headers.authorization, req.body as Record<string, unknown> | undefined);
    if (clientId) {
      const tenant = String((req.params as Record<string, string | undefined>).tenant);
      await limiter.hit(tenant, `client:${clientId}`, { limit: perMinute, windowSeconds: 60 });
    }
    next();
  };
  router.post(
    ['/token', '/token/introspection'],
    express.urlencoded({ extended: false, limit: maxBodyBytes, parameterLimit: 100 }),
    limit,
  );
  return router;
}

function clientIdOf(authorization: string | undefined, body: Record<string, unknown> | undefined): string | undefined {
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      try {
        return decodeURIComponent(decoded.slice(0, colon)).slice(0, 200);
      } catch {
        return undefined;
      }
    }
  }
  const fromBody = body?.client_id;
  return typeof fromBody === 'string' && fromBody.length > 0 ? fromBody.slice(0, 200) : undefined;
}
