/**
 * The interaction pages of every tenant: login (password or passkey, with the risk gate and decision),
 * step-up, consent, abort.
 * oidc-provider owns the flow (it sends the browser here and takes it back through interactionFinished);
 * these handlers render, check and decide. The pipeline's steps are in sign-in.ts and kit.ts.
 */
import express, { Router, type Response } from 'express';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import { AppError, Forbidden } from '../../lib/errors.ts';
import { requestedAcr } from '../step-up-check.ts';
import {
  clientIdOf,
  clientName,
  detailsFor,
  deviceOf,
  providerFor,
  renderLoginPage,
  renderStepUp,
  tenantOf,
  type InteractionDeps,
  type LoginExtra,
} from './kit.ts';
import { passkeySignInRoutes } from './passkey-routes.ts';
import { describeScopes } from './scope-descriptions.ts';
import { settle } from './settle.ts';
import { passwordStep, type DecidedStep, type FirstStep } from './sign-in.ts';
import { stepUpRoute } from './step-up.ts';

export type { InteractionDeps } from './kit.ts';

const loginForm = z.object({
  username: z.string().max(1024).default(''),
  password: z.string().max(4096).default(''),
  csrf: z.string().max(200).default(''),
});
const csrfForm = z.object({ csrf: z.string().max(200).default('') });

/** The one message for every failed first factor: it never tells whether the account exists or is locked. */
const GENERIC_FAILURE = 'Incorrect username or password.';
const THROTTLED = 'Too many sign-in attempts from your network. Please try again later.';
const DELAYED = 'Please wait a few seconds before trying again.';

export function interactionRoutes(deps: InteractionDeps): Router {
  const router = Router({ mergeParams: true });
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 20 });

  const renderLogin = (res: Response, provider: Provider, tenant: string, uid: string, clientId: unknown, extra: LoginExtra = {}): Promise<void> =>
    renderLoginPage(deps, res, provider, { tenant, uid, clientId, ...extra });

  router.get('/:uid', async (req, res) => {
    const provider = await providerFor(deps, req);
    const details = await detailsFor(req, res, provider);
    const tenant = tenantOf(req);
    const uid = details.uid;
    res.setHeader('Cache-Control', 'no-store');
    if (details.prompt.name === 'login') {
      // A reload in the middle of a step-up shows the step-up again, never a way around it.
      const pending = await deps.pending.find(tenant, uid);
      if (pending) await renderStepUp(deps, res, tenant, uid, pending);
      else await renderLogin(res, provider, tenant, uid, details.params.client_id);
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
    const provider = await providerFor(deps, req);
    const tenant = tenantOf(req);
    const body = loginForm.parse(req.body ?? {});
    const details = await detailsFor(req, res, provider);
    if (!deps.csrf.verify(details.uid, body.csrf)) throw new Forbidden('the form has expired; please start again');
    if (details.prompt.name !== 'login') throw new AppError('invalid_request', 400, 'no sign-in is expected now');
    const ip = req.ip ?? 'unknown';
    await deps.limiter.hit(tenant, `login-ip:${ip}`, { limit: deps.loginPerMinute, windowSeconds: 60 });
    // A new first factor replaces whatever was pending in this interaction.
    await deps.pending.discard(tenant, details.uid);

    const clientId = clientIdOf(details);
    const username = body.username.slice(0, 256);
    const step = await passwordStep(deps, {
      tenantId: tenant,
      username: body.username,
      password: body.password,
      ip,
      userAgent: req.get('user-agent') ?? undefined,
      device: deviceOf(deps, req, tenant),
      clientId,
      requestedAcr: requestedAcr(details.params.acr_values),
    });
    const refuse = async (status: number, error: string, event: { type: string; userId?: string; details: Record<string, unknown> }) => {
      deps.metrics.signIns.inc({ tenant, outcome: 'failure' });
      await deps.audit.record(tenant, {
        type: event.type,
        actor: 'anonymous',
        subject: event.userId ? `user:${event.userId}` : null,
        ip,
        details: { ...event.details, username, client: clientId },
      });
      res.status(status);
      await renderLogin(res, provider, tenant, details.uid, details.params.client_id, { error, username });
    };
    await act(step, {
      gated: async (gate) => {
        if (gate.kind === 'locked') {
          await refuse(401, GENERIC_FAILURE, { type: 'signin.locked', details: { hardCap: gate.hardCap } });
          return;
        }
        res.setHeader('Retry-After', String(gate.retryAfterSeconds));
        const throttled = gate.kind === 'throttled';
        await refuse(429, throttled ? THROTTLED : DELAYED, {
          type: 'signin.throttled',
          details: throttled ? { scope: gate.scope, retryAfterSeconds: gate.retryAfterSeconds } : { delaySeconds: gate.retryAfterSeconds },
        });
      },
      failed: (reason, userId) => refuse(401, GENERIC_FAILURE, { type: 'signin.failure', ...(userId ? { userId } : {}), details: { reason } }),
      decided: (decided) => settle(deps, req, res, provider, details, decided),
    });
  });

  stepUpRoute(router, form, deps);
  passkeySignInRoutes(router, form, deps);

  router.post('/:uid/confirm', form, async (req, res) => {
    const provider = await providerFor(deps, req);
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
    const provider = await providerFor(deps, req);
    const body = csrfForm.parse(req.body ?? {});
    const details = await detailsFor(req, res, provider);
    if (!deps.csrf.verify(details.uid, body.csrf)) throw new Forbidden('the form has expired; please start again');
    await deps.pending.discard(tenantOf(req), details.uid);
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the user cancelled the request' },
      { mergeWithLastSubmission: false },
    );
  });

  return router;
}

type Handlers = {
  readonly gated: (gate: Extract<FirstStep, { kind: 'gated' }>['gate']) => Promise<void>;
  readonly failed: (reason: string, userId: string | undefined) => Promise<void>;
  readonly decided: (step: DecidedStep) => Promise<void>;
};

function act(step: FirstStep, h: Handlers): Promise<void> {
  switch (step.kind) {
    case 'gated':
      return h.gated(step.gate);
    case 'failed':
      return h.failed(step.reason, step.userId);
    default:
      return h.decided(step);
  }
}
