/**
 * A passkey as the step-up factor. `POST /{uid}/step-up/passkey/options` answers WebAuthn request options
 * for the pending sign-in's user (allowCredentials = their passkeys, user verification required) with a
 * challenge bound to this interaction's step-up and consumed once; the assertion comes back to
 * `POST /{uid}/step-up` with `method=passkey` (step-up.ts), where `verifyStepUpPasskey` checks it. It is the
 * only step-up a phishing-resistant requirement accepts.
 * @see https://www.w3.org/TR/webauthn-3/#dom-publickeycredentialrequestoptions-allowcredentials
 */
import type { RequestHandler, Router } from 'express';
import { z } from 'zod';
import { AppError, Forbidden } from '../../lib/errors.ts';
import type { AuthenticationEvent } from '../../mfa/amr.ts';
import { authenticationResponseSchema, parseJsonField } from '../../mfa/webauthn-schemas.ts';
import { detailsFor, providerFor, tenantOf, type InteractionDeps } from './kit.ts';

const csrfForm = z.object({ csrf: z.string().max(200).default('') });

/** Distinct from the login page's binding: a username-less challenge cannot answer a step-up. */
function stepUpBindingOf(uid: string): string {
  return `step-up:${uid}`;
}

export function stepUpPasskeyOptionsRoute(router: Router, form: RequestHandler, deps: InteractionDeps): void {
  router.post('/:uid/step-up/passkey/options', form, async (req, res) => {
    const provider = await providerFor(deps, req);
    const tenant = tenantOf(req);
    const details = await detailsFor(req, res, provider);
    if (!deps.csrf.verify(details.uid, csrfForm.parse(req.body ?? {}).csrf)) throw new Forbidden('the form has expired; please start again');
    if (details.prompt.name !== 'login') throw new AppError('invalid_request', 400, 'no sign-in is expected now');
    const pending = await deps.pending.find(tenant, details.uid);
    if (!pending) throw new AppError('invalid_request', 400, 'no second step is expected now; please start again');
    const passkeys = await deps.passkeys.list(tenant, pending.userId);
    if (passkeys.length === 0) throw new AppError('invalid_request', 400, 'this account has no passkey');
    const options = await deps.passkeys.authenticationOptions(tenant, stepUpBindingOf(details.uid));
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      ...options,
      allowCredentials: passkeys.map((p) => ({ id: p.credentialId, type: 'public-key', transports: [...p.transports] })),
    });
  });
}

export type StepUpPasskeyResult = { readonly ok: true; readonly event: AuthenticationEvent; readonly passkeyId: string } | { readonly ok: false; readonly reason: string };

/** Checks a step-up assertion: the challenge of this interaction's step-up, a passkey of `userId`, verified user. */
export async function verifyStepUpPasskey(
  deps: InteractionDeps,
  tenant: string,
  uid: string,
  userId: string,
  rawResponse: string,
  ip: string,
): Promise<StepUpPasskeyResult> {
  const response = parseJsonField(authenticationResponseSchema, rawResponse);
  if (!response) return { ok: false, reason: 'malformed' };
  const result = await deps.passkeys.authenticate(tenant, stepUpBindingOf(uid), response, ip);
  if (!result.ok) return { ok: false, reason: result.reason };
  // Someone else's passkey proves nothing about this sign-in (allowCredentials is only a hint to the browser).
  if (result.userId !== userId) return { ok: false, reason: 'other_user' };
  if (!result.userVerified) return { ok: false, reason: 'user_not_verified' };
  const event: AuthenticationEvent = { method: 'passkey', at: deps.clock.now(), hardwareBound: result.hardwareBound, userVerified: true };
  return { ok: true, event, passkeyId: result.passkeyId };
}
