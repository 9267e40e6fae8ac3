/**
 * Username-less passkey sign-in on the login page: `POST /{uid}/passkey/options` answers WebAuthn request
 * options (a challenge bound to this interaction), `POST /{uid}/passkey/verify` checks the assertion and
 * hands the sign-in to the same pipeline as a password (sign-in.ts): risk gate, `afterFirstFactor`
 * (assessment, deny lists, step-up), and `settle`. A passkey with user verification is a complete
 * multi-factor sign-in: amr `hwk` (device-bound) or `swk` (synced), plus `user`, `mfa` and `rba`; acr
 * `phrh` or `phr` (src/mfa/amr.ts).
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import { AppError, Forbidden } from '../../lib/errors.ts';
import { authenticationResponseSchema, parseJsonField } from '../../mfa/webauthn-schemas.ts';
import { requestedAcr } from '../step-up-check.ts';
import { clientIdOf, detailsFor, deviceOf, providerFor, renderLoginPage, tenantOf, type Details, type InteractionDeps } from './kit.ts';
import { settle } from './settle.ts';
import { afterFirstFactor, gate } from './sign-in.ts';

const csrfForm = z.object({ csrf: z.string().max(200).default('') });
const verifyForm = z.object({ csrf: z.string().max(200).default(''), response: z.string().max(16_384).default('') });
const FAILURE = 'That passkey could not sign you in. Try again, or sign in with your password.';
/** The gate's refusals for a passkey: the same words as for a password (routes.ts). */
const THROTTLED = 'Too many sign-in attempts from your network. Please try again later.';
const DELAYED = 'Please wait a few seconds before trying again.';

/** The WebAuthn challenge binding of a username-less sign-in in this interaction. */
function bindingOf(uid: string): string {
  return `interaction:${uid}`;
}

export function passkeySignInRoutes(router: Router, form: RequestHandler, deps: InteractionDeps): void {
  const loginInteraction = async (req: Request, res: Response, csrf: string): Promise<{ provider: Provider; details: Details }> => {
    const provider = await providerFor(deps, req);
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
    const ip = req.ip ?? 'unknown';
    await deps.limiter.hit(tenant, `login-ip:${ip}`, { limit: deps.loginPerMinute, windowSeconds: 60 });
    // A new first factor replaces whatever was pending in this interaction.
    await deps.pending.discard(tenant, details.uid);
    const clientId = clientIdOf(details);
    const refuse = async (status: number, error: string, event: { type: string; userId: string | undefined; details: Record<string, unknown> }) => {
      deps.metrics.signIns.inc({ tenant, outcome: 'failure' });
      await deps.audit.record(tenant, {
        type: event.type,
        actor: 'anonymous',
        subject: event.userId ? `user:${event.userId}` : null,
        ip,
        details: { method: 'passkey', ...event.details, client: clientId },
      });
      res.status(status).setHeader('Cache-Control', 'no-store');
      await renderLoginPage(deps, res, provider, { tenant, uid: details.uid, clientId: details.params.client_id, error });
    };

    const response = parseJsonField(authenticationResponseSchema, body.response);
    const result = response ? await deps.passkeys.authenticate(tenant, bindingOf(details.uid), response, ip) : undefined;
    const user = result?.ok ? await deps.users.findById(tenant, result.userId) : undefined;
    if (!result?.ok || !user?.active) {
      const reason = !response ? 'malformed' : result && !result.ok ? result.reason : 'inactive';
      await refuse(401, FAILURE, { type: 'signin.failure', userId: result?.userId, details: { reason } });
      return;
    }
    const attempt = { tenantId: tenant, username: user.username, userId: user.id, ip, userAgent: req.get('user-agent') ?? undefined, device: deviceOf(deps, req, tenant) };
    const gated = await gate(deps, attempt);
    if (gated?.kind === 'locked') {
      await refuse(401, FAILURE, { type: 'signin.locked', userId: user.id, details: { hardCap: gated.hardCap } });
      return;
    }
    if (gated) {
      res.setHeader('Retry-After', String(gated.retryAfterSeconds));
      const throttled = gated.kind === 'throttled';
      await refuse(429, throttled ? THROTTLED : DELAYED, {
        type: 'signin.throttled',
        userId: user.id,
        details: throttled ? { scope: gated.scope, retryAfterSeconds: gated.retryAfterSeconds } : { delaySeconds: gated.retryAfterSeconds },
      });
      return;
    }
    const step = await afterFirstFactor(deps, {
      ...attempt,
      factor: { method: 'passkey', passkeyId: result.passkeyId, hardwareBound: result.hardwareBound, userVerified: result.userVerified },
      clientId,
      requestedAcr: requestedAcr(details.params.acr_values),
    });
    await settle(deps, req, res, provider, details, step);
  });
}
