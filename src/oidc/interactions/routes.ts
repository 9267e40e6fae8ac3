/**
 * The interaction pages of every tenant: login, consent, abort. oidc-provider owns the flow (it sends the
 * browser here and takes it back through interactionFinished); these handlers render, check and decide.
 */
import express, { Router, type Request, type Response } from 'express';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { z } from 'zod';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Csrf } from '../../http/csrf.ts';
import type { Metrics } from '../../http/metrics.ts';
import type { RateLimiter } from '../../http/rate-limit.ts';
import type { Renderer } from '../../http/views.ts';
import type { PasswordAuthenticator } from '../../identity/password-authenticator.ts';
import { AppError, Forbidden, NotFound } from '../../lib/errors.ts';
import { ACR_PASSWORD } from '../provider-factory.ts';
import type { ProviderRegistry } from '../provider-registry.ts';
import { describeScopes } from './scope-descriptions.ts';

export interface InteractionDeps {
  readonly registry: ProviderRegistry;
  readonly authenticator: PasswordAuthenticator;
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly csrf: Csrf;
  readonly limiter: RateLimiter;
  readonly render: Renderer;
  readonly loginPerMinute: number;
  readonly maxBodyBytes: number;
}

const loginForm = z.object({
  username: z.string().max(1024).default(''),
  password: z.string().max(4096).default(''),
  csrf: z.string().max(200).default(''),
});
const csrfForm = z.object({ csrf: z.string().max(200).default('') });

function tenantOf(req: Request): string {
  return String((req.params as Record<string, string | undefined>).tenant);
}

const GENERIC_FAILURE = 'Incorrect username or password.';

export function interactionRoutes(deps: InteractionDeps): Router {
  const router = Router({ mergeParams: true });
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 20 });

  const providerFor = async (req: Request): Promise<Provider> => {
    const provider = await deps.registry.get(tenantOf(req));
    if (!provider) throw new NotFound('no such tenant');
    return provider;
  };

  const detailsFor = async (req: Request, res: Response, provider: Provider) => {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== req.params.uid) throw new AppError('invalid_request', 400, 'interaction mismatch');
    return details;
  };

  const clientName = async (provider: Provider, clientId: unknown): Promise<string> => {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? (typeof clientId === 'string' ? clientId : 'the application');
  };

  const renderLogin = async (
    res: Response,
    provider: Provider,
    tenant: string,
    uid: string,
    clientId: unknown,
    extra: { error?: string; username?: string } = {},
  ): Promise<void> => {
    res.type('html').send(
      deps.render('login', {
        title: 'Sign in',
        action: `/t/${tenant}/interaction/${uid}/login`,
        abort: `/t/${tenant}/interaction/${uid}/abort`,
        csrf: deps.csrf.token(uid),
        client: await clientName(provider, clientId),
        error: extra.error ?? null,
        username: extra.username ?? '',
      }),
    );
  };

  router.get('/:uid', async (req, res) => {
    const provider = await providerFor(req);
    const details = await detailsFor(req, res, provider);
    const tenant = tenantOf(req);
    const uid = details.uid;
    res.setHeader('Cache-Control', 'no-store');
    if (details.prompt.name === 'login') {
      await renderLogin(res, provider, tenant, uid, details.params.client_id);
      return;
    }
    if (details.prompt.name === 'consent') {
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
      res.type('html').send(
        deps.render('consent', {
          title: 'Allow access',
          action: `/t/${tenant}/interaction/${uid}/confirm`,
          abort: `/t/${tenant}/interaction/${uid}/abort`,
          csrf: deps.csrf.token(uid),
          client: await clientName(provider, details.params.client_id),
          scopes: describeScopes(missing.missingOIDCScope ?? [], missing.missingResourceScopes ?? {}),
        }),
      );
      return;
    }
    throw new AppError('invalid_request', 400, `unsupported interaction ${details.prompt.name}`);
  });

  router.post('/:uid/login', form, async (req, res) => {
    const provider = await providerFor(req);
    const tenant = tenantOf(req);
    const body = loginForm.parse(req.body ?? {});
    const details = await detailsFor(req, res, provider);
    if (!deps.csrf.verify(details.uid, body.csrf)) throw new Forbidden('the form has expired; please start again');
    if (details.prompt.name !== 'login') throw new AppError('invalid_request', 400, 'no sign-in is expected now');
    const ip = req.ip ?? null;
    await deps.limiter.hit(tenant, `login-ip:${ip ?? 'unknown'}`, { limit: deps.loginPerMinute, windowSeconds: 60 });

    const result = await deps.authenticator.authenticate(tenant, body.username, body.password);
    const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : null;
    if (!result.ok) {
      deps.metrics.signIns.inc({ tenant, outcome: 'failure' });
      await deps.audit.record(tenant, {
        type: 'signin.failure',
        actor: 'anonymous',
        subject: result.userId ? `user:${result.userId}` : null,
        ip,
        details: { reason: result.reason, username: body.username.slice(0, 256), client: clientId },
      });
      res.status(401);
      await renderLogin(res, provider, tenant, details.uid, details.params.client_id, {
        error: GENERIC_FAILURE,
        username: body.username.slice(0, 256),
      });
      return;
    }
    deps.metrics.signIns.inc({ tenant, outcome: 'success' });
    await deps.audit.record(tenant, {
      type: 'signin.success',
      actor: `user:${result.userId}`,
      subject: `user:${result.userId}`,
      ip,
      details: { method: 'password', amr: ['pwd'], acr: ACR_PASSWORD, client: clientId },
    });
    const outcome: InteractionResults = {
      login: { accountId: result.userId, acr: ACR_PASSWORD, amr: ['pwd'], remember: true },
    };
    await provider.interactionFinished(req, res, outcome, { mergeWithLastSubmission: false });
  });

  router.post('/:uid/confirm', form, async (req, res) => {
    const provider = await providerFor(req);
    const body = csrfForm.parse(req.body ?? {});
    const details = await detailsFor(req, res, provider);
    if (!deps.csrf.verify(details.uid, body.csrf)) throw new Forbidden('the form has expired; please start again');
    if (details.prompt.name !== 'consent' || !details.session?.accountId) {
      throw new AppError('invalid_request', 400, 'no consent is expected now');
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: String(details.params.client_id) });
    if (!grant) throw new AppError('invalid_request', 400, 'the grant has expired; please start again');
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });

  router.post('/:uid/abort', form, async (req, res) => {
    const provider = await providerFor(req);
    const body = csrfForm.parse(req.body ?? {});
    const details = await detailsFor(req, res, provider);
    if (!deps.csrf.verify(details.uid, body.csrf)) throw new Forbidden('the form has expired; please start again');
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the user cancelled the request' },
      { mergeWithLastSubmission: false },
    );
  });

  return router;
}
