/** buildApp(container) → the express app, without listen (what tests import). */
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import helmet from 'helmet';
import type Provider from 'oidc-provider';
import { fileURLToPath } from 'node:url';
import { adminRoutes } from './admin/routes.ts';
import type { Container } from './container.ts';
import { isDatabaseUnavailable, isPoolExhausted } from './db/client.ts';
import { migrationsApplied } from './db/migrator.ts';
import { jsonErrorHandler, pageErrorHandler } from './http/errors.ts';
import { canonicalOrigin } from './http/canonical-origin.ts';
import { requestContext } from './http/request-context.ts';
import { NotFound, ServiceUnavailable, TooLarge } from './lib/errors.ts';
import { interactionRoutes } from './oidc/interactions/routes.ts';
import { accountRoutes } from './account/routes.ts';
import { tokenRateLimit } from './oidc/token-rate-limit.ts';
import { demoRoutes } from './demo-routes.ts';
import { isScimBulkPath } from './scim/routes.ts';

const publicFolder = fileURLToPath(new URL('../public', import.meta.url));
/** @simplewebauthn/browser's bundle, served from our own origin (CSP script-src 'self', no CDN). */
const webauthnBrowserFolder = fileURLToPath(new URL('../node_modules/@simplewebauthn/browser/dist/bundle', import.meta.url));

/** Parses TRUST_PROXY as express expects: a hop count, `true`/`false`, or names and CIDRs. */
function trustProxyValue(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

export function buildApp(c: Container): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxyValue(c.config.trustProxy));
  app.set('etag', false);

  app.use(requestContext(c.logger, c.metrics));
  const bodyGuard = refuseLargeBodies(c.config.maxBodyBytes);
  // SCIM Bulk has its own, advertised maxPayloadSize, enforced by its router.
  app.use((req, res, next) => (isScimBulkPath(req.path) ? next() : bodyGuard(req, res, next)));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          // Forms post to us and we redirect to the client's registered redirect_uri: a form-action
          // limited to 'self' would block that redirect in browsers that apply it to redirects.
          formAction: null,
          frameAncestors: ["'none'"],
        },
      },
      crossOriginEmbedderPolicy: false,
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const reachable = await c.health.probe();
    const migrated = reachable && (await migrationsApplied(c.database.db).catch(() => false));
    res.status(reachable && migrated ? 200 : 503).json({ ready: reachable && migrated, database: reachable, migrations: migrated });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(c.metrics.registry.contentType).send(await c.metrics.registry.metrics());
  });
  app.use('/static/vendor/simplewebauthn', express.static(webauthnBrowserFolder, { index: false, maxAge: '1h', fallthrough: false }));
  app.use('/static', express.static(publicFolder, { index: false, maxAge: '1h', fallthrough: false }));

  if (c.config.demo) app.use('/demo', demoRoutes(c.render));

  const asJson = jsonErrorHandler(c.logger);
  const asPage = pageErrorHandler(c.logger, c.render);
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();

  const failFast: RequestHandler = (_req, _res, next) => {
    next(c.health.up ? undefined : new ServiceUnavailable());
  };
  const noteOutage: ErrorRequestHandler = (err, _req, _res, next) => {
    // A busy pool answers 503 for this request but does not mark the database down for everyone.
    if (isDatabaseUnavailable(err) && !isPoolExhausted(err)) c.health.reportFailure();
    next(err);
  };

  app.use(
    '/admin/api',
    failFast,
    adminRoutes({
      auth: c.adminAuth,
      tenants: c.tenants,
      users: c.userService,
      clients: c.clients,
      resourceServers: c.resourceServers,
      auditEvents: c.auditEvents,
      registry: c.registry,
      maxBodyBytes: c.config.maxBodyBytes,
      publicUrl: c.config.publicUrl,
      scimTokens: c.scim.tokens,
      attributePrecedence: c.attributePrecedence,
      signIn: { policies: c.policyService, mfaReset: c.mfaReset, users: c.userService, compromise: c.compromise },
    }),
    noteOutage,
    asJson,
  );

  app.use('/t', canonicalOrigin(c.config.publicUrl));

  // The self-service account pages, a first-party client of each tenant (src/account/).
  app.use(
    '/t/:tenant/account',
    failFast,
    accountRoutes({
      client: c.account.client,
      cookies: c.account.cookies,
      devices: c.account.devices,
      passkeys: c.account.passkeys,
      freshSeconds: c.account.freshSeconds,
      csrf: c.csrf,
      users: c.userService,
      clock: c.clock,
      tenantExists: async (tenant) => (await c.registry.get(tenant)) !== undefined,
      render: c.render,
      audit: c.audit,
      totp: c.totp,
      factors: c.factors,
      recoveryCodes: c.recoveryCodes,
      maxBodyBytes: c.config.maxBodyBytes,
    }),
    noteOutage,
    asPage,
  );

  app.use(
    '/t/:tenant/interaction',
    failFast,
    interactionRoutes({
      registry: c.registry,
      authenticator: c.authenticator,
      audit: c.audit,
      metrics: c.metrics,
      csrf: c.csrf,
      limiter: c.limiter,
      render: c.render,
      loginPerMinute: c.config.rateLimits.loginPerMinute,
      maxBodyBytes: c.config.maxBodyBytes,
      // Zero-trust sign-in: risk gate and decision, step-up, device cookie (RISK_ENGINE=off: no risk).
      risk: c.config.riskEngine ? c.risk : undefined,
      users: c.users,
      factors: c.factors,
      totp: c.totp,
      recoveryCodes: c.recoveryCodes,
      // Passkeys: username-less sign-in on the login page and a step-up factor.
      passkeys: c.account.passkeys,
      policies: c.signInPolicies,
      pending: c.pendingSignIns,
      deviceCookies: c.deviceCookies,
      secureCookies: c.config.publicUrl.startsWith('https:'),
      clock: c.clock,
    }),
    noteOutage,
    asPage,
  );

  // SCIM 2.0 before the oidc-provider mount: every /t/{tenant}/scim/v2 request is answered there.
  app.use('/t/:tenant/scim/v2', failFast, c.scim.router, noteOutage, asJson);

  app.use(
    '/t/:tenant',
    failFast,
    tokenRateLimit(c.limiter, c.config.rateLimits.clientPerMinute, c.config.maxBodyBytes),
    async (req: Request, res: express.Response, next: express.NextFunction) => {
      const provider = await c.registry.get(String(req.params.tenant));
      if (!provider) {
        next(new NotFound('no such tenant'));
        return;
      }
      // oidc-provider (koa) answers the request itself, errors included. Its callback() composes the
      // middleware anew on every call, so each provider's handler is built once.
      let handler = callbacks.get(provider);
      if (!handler) {
        handler = provider.callback();
        callbacks.set(provider, handler);
      }
      void handler(req, res);
    },
    noteOutage,
    (err: unknown, req: Request, res: express.Response, next: express.NextFunction) => {
      const wantsHtml = req.method === 'GET' && req.accepts(['json', 'html']) === 'html';
      (wantsHtml ? asPage : asJson)(err, req, res, next);
    },
  );

  app.use((req, res) => {
    res.status(404).json({ error: 'not_found', error_description: `no route for ${req.method} ${req.path}` });
  });
  app.use(asJson);
  return app;
}

/** Refuses a declared body over the limit before anything reads it (413, connection closed). */
function refuseLargeBodies(max: number): RequestHandler {
  return (req, res, next) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (Number.isFinite(length) && length > max) {
      res.setHeader('Connection', 'close');
      next(new TooLarge(`request body larger than ${max} bytes`));
      return;
    }
    next();
  };
}
