/**
 * Username-less passkey sign-in on the login page: `POST /{uid}/passkey/options` answers WebAuthn request
 * options (a challenge bound to this interaction), `POST /{uid}/passkey/verify` checks the assertion and
 * finishes the login. A passkey with user verification is a complete multi-factor sign-in: amr `hwk`
 * (device-bound) or `swk` (synced), plus `user` and `mfa`; acr `phrh` or `phr` (src/mfa/amr.ts).
 * The risk engine's pipeline (sign-in.ts) is password-first; passkey sign-ins finish here directly.
 */
import express, { Router, type Request, type Response } from 'express';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Csrf } from '../../http/csrf.ts';
import type { Metrics } from '../../http/metrics.ts';
import type { RateLimiter } from '../../http/rate-limit.ts';
import type { Renderer } from '../../http/views.ts';
import type { UserRepository } from '../../identity/user-repository.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError, Forbidden } from '../../lib/errors.ts';
import { authenticationContext } from '../../mfa/amr.ts';
import type { PasskeyService } from '../../mfa/webauthn.ts';
import { authenticationResponseSchema, parseJsonField } from '../../mfa/webauthn-schemas.ts';
import { clientIdOf, clientName, detailsFor, tenantOf, type Details } from './kit.ts';
import type { ProviderRegistry } from '../provider-registry.ts';

export interface PasskeyInteractionDeps {
  readonly registry: ProviderRegistry;
  readonly passkeys: PasskeyService;
  readonly users: UserRepository;
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly csrf: Csrf;
  readonly limiter: RateLimiter;
  readonly render: Renderer;
  readonly clock: Clock;
  readonly loginPerMinute: number;
  readonly maxBodyBytes: number;
}

const csrfForm = z.object({ csrf: z.string().max(200).default('') });
const verifyForm = z.object({ csrf: z.string().max(200).default(''), response: z.string().max(16_384).default('') });
/** How long the passkey keeps its level within the session (it is the first factor: for the session). */
const PASSKEY_MAX_AGE_SECONDS = 900;
const FAILURE = 'That passkey could not sign you in. Try again, or sign in with your password.';

function bindingOf(uid: string): string {
  return `interaction:${uid}`;
}

export function passkeyInteractionRoutes(deps: PasskeyInteractionDeps): Router {
  const router = Router({ mergeParams: true });
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 10 });

  const loginInteraction = async (req: Request, res: Response, csrf: string): Promise<{ provider: Provider; details: Details }> => {
    const provider = await deps.registry.get(tenantOf(req));
    if (!provider) throw new AppError('not_found', 404, 'no such tenant');
    const details = await detailsFor(req, res, provider);
    if (!deps.csrf.verify(details.uid, csrf)) throw new Forbidden('the form has expired; please start again');
    if (details.prompt.name !== 'login') throw new AppError('invalid_request', 400, 'no sign-in is expected now');
    return { provider, details };
  };

  router.post('/:uid/passkey/options', form, async (req, res) => {
    const { details } = await loginInteraction(req, res, csrfForm.parse(req.body ?? {}).csrf);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.passkeys.authenticationOptions(tenantOf(req), bindingOf(details.uid)));
  });

  router.post('/:uid/passkey/verify', form, async (req, res) => {
    const tenant = tenantOf(req);
    const body = verifyForm.parse(req.body ?? {});
    const { provider, details } = await loginInteraction(req, res, body.csrf);
    const ip = req.ip ?? null;
    await deps.limiter.hit(tenant, `login-ip:${ip ?? 'unknown'}`, { limit: deps.loginPerMinute, windowSeconds: 60 });
    const clientId = clientIdOf(details);
    const response = parseJsonField(authenticationResponseSchema, body.response);
    const result = response ? await deps.passkeys.authenticate(tenant, bindingOf(details.uid), response, ip) : undefined;
    const user = result?.ok ? await deps.users.findById(tenant, result.userId) : undefined;
    if (!result?.ok || !user?.active) {
      const reason = !response ? 'malformed' : result && !result.ok ? result.reason : 'inactive';
      const userId = result?.userId;
      deps.metrics.signIns.inc({ tenant, outcome: 'failure' });
      await deps.audit.record(tenant, {
        type: 'signin.failure',
        actor: 'anonymous',
        subject: userId ? `user:${userId}` : null,
        ip,
        details: { method: 'passkey', reason, client: clientId },
      });
      res.status(401).setHeader('Cache-Control', 'no-store');
      res.type('html').send(
        deps.render('login', {
          title: 'Sign in',
          action: `/t/${tenant}/interaction/${details.uid}/login`,
          abort: `/t/${tenant}/interaction/${details.uid}/abort`,
          csrf: deps.csrf.token(details.uid),
          client: await clientName(provider, details.params.client_id),
          error: FAILURE,
          username: '',
        }),
      );
      return;
    }
    const now = deps.clock.now();
    const context = authenticationContext([{ method: 'passkey', at: now, hardwareBound: result.hardwareBound, userVerified: result.userVerified }], {
      now,
      stepUpMaxAgeSeconds: PASSKEY_MAX_AGE_SECONDS,
      riskAssessed: false,
    });
    deps.metrics.signIns.inc({ tenant, outcome: 'success' });
    await deps.audit.record(tenant, {
      type: 'signin.success',
      actor: `user:${result.userId}`,
      subject: `user:${result.userId}`,
      ip,
      details: { method: 'passkey', passkeyId: result.passkeyId, amr: context.amr, acr: context.acr, client: clientId },
    });
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: result.userId, acr: context.acr, amr: [...context.amr], remember: true } },
      { mergeWithLastSubmission: false },
    );
  });

  return router;
}
