/**
 * The second step of a sign-in the policy stepped up: a TOTP `code`, a recovery code or a passkey
 * assertion (step-up-passkey.ts), checked against the pending sign-in kept server-side for this
 * interaction. A phishing-resistant requirement accepts only the passkey. A code or challenge is accepted
 * once (TotpService, RecoveryCodes, PasskeyService); after MAX_STEP_UP_FAILURES wrong ones the interaction
 * ends with `access_denied`.
 */
import type { RequestHandler, Router } from 'express';
import { z } from 'zod';
import { AppError, Forbidden } from '../../lib/errors.ts';
import type { AuthenticationEvent } from '../../mfa/amr.ts';
import { deny, detailsFor, finishSignIn, providerFor, renderStepUp, tenantOf, type InteractionDeps } from './kit.ts';
import { stepUpPasskeyOptionsRoute, verifyStepUpPasskey } from './step-up-passkey.ts';

export const MAX_STEP_UP_FAILURES = 5;

const stepUpForm = z.object({
  csrf: z.string().max(200).default(''),
  method: z.enum(['totp', 'recovery-code', 'passkey']).default('totp'),
  code: z.string().max(32).default(''),
  recovery_code: z.string().max(64).default(''),
  /** The WebAuthn assertion (JSON) for `method=passkey`. */
  response: z.string().max(16_384).default(''),
});

const WRONG_CODE = "That code didn't work. Please try again.";
const WRONG_PASSKEY = "That passkey didn't work. Please try again.";

export function stepUpRoute(router: Router, form: RequestHandler, deps: InteractionDeps): void {
  stepUpPasskeyOptionsRoute(router, form, deps);
  router.post('/:uid/step-up', form, async (req, res) => {
    const provider = await providerFor(deps, req);
    const tenant = tenantOf(req);
    const body = stepUpForm.parse(req.body ?? {});
    const details = await detailsFor(req, res, provider);
    if (!deps.csrf.verify(details.uid, body.csrf)) throw new Forbidden('the form has expired; please start again');
    if (details.prompt.name !== 'login') throw new AppError('invalid_request', 400, 'no sign-in is expected now');
    const pending = await deps.pending.find(tenant, details.uid);
    if (!pending) throw new AppError('invalid_request', 400, 'no second step is expected now; please start again');
    const ip = req.ip ?? 'unknown';
    await deps.limiter.hit(tenant, `login-ip:${ip}`, { limit: deps.loginPerMinute, windowSeconds: 60 });

    let event: AuthenticationEvent | undefined;
    let failure: string;
    let passkeyId: string | undefined;
    if (body.method === 'passkey') {
      const result = await verifyStepUpPasskey(deps, tenant, details.uid, pending.userId, body.response, ip);
      if (result.ok) ({ event, passkeyId } = result);
      failure = result.ok ? '' : result.reason;
    } else if (pending.factor !== 'any') {
      failure = 'passkey_required';
    } else if (body.method === 'totp') {
      const result = await deps.totp.verify(tenant, pending.userId, body.code);
      if (result.ok) event = { method: 'totp', at: deps.clock.now() };
      failure = result.ok ? '' : result.reason;
    } else {
      const ok = await deps.recoveryCodes.consume(tenant, pending.userId, body.recovery_code);
      if (ok) event = { method: 'recovery-code', at: deps.clock.now() };
      failure = ok ? '' : 'invalid_recovery_code';
    }

    if (event) {
      // Exactly one request finishes this sign-in, however many carry a valid code at once.
      const taken = await deps.pending.take(tenant, details.uid);
      if (!taken) throw new AppError('invalid_request', 400, 'this sign-in was already finished; please start again');
      await deps.audit.record(tenant, {
        type: 'signin.step_up.success',
        actor: `user:${taken.userId}`,
        subject: `user:${taken.userId}`,
        ip,
        details: { method: event.method, ...(passkeyId ? { passkeyId } : {}), client: taken.clientId, assessmentId: taken.assessment?.id ?? null },
      });
      if (event.method === 'recovery-code') {
        await deps.audit.record(tenant, {
          type: 'mfa.recovery_code.used',
          actor: `user:${taken.userId}`,
          subject: `user:${taken.userId}`,
          ip,
          details: { remaining: await deps.recoveryCodes.remaining(tenant, taken.userId) },
        });
      }
      if (await finishSignIn(deps, req, res, provider, taken, event)) return;
      await deny(deps, req, res, provider, details, 'This sign-in needs a stronger second factor than the one you used.');
      return;
    }

    const failures = (await deps.pending.recordFailure(tenant, details.uid)) ?? MAX_STEP_UP_FAILURES;
    await deps.audit.record(tenant, {
      type: 'signin.step_up.failure',
      actor: 'anonymous',
      subject: `user:${pending.userId}`,
      ip,
      details: { method: body.method, reason: failure, failures, client: pending.clientId },
    });
    if (failures >= MAX_STEP_UP_FAILURES) {
      await deps.pending.discard(tenant, details.uid);
      await deny(deps, req, res, provider, details, 'Too many failed attempts. Please start the sign-in again.');
      return;
    }
    res.status(401);
    await renderStepUp(deps, res, tenant, details.uid, pending, body.method === 'passkey' ? WRONG_PASSKEY : WRONG_CODE);
  });
}
