/**
 * Factor pages of the account: TOTP enrolment (QR code, otpauth URI and secret as text, one code to
 * confirm), recovery codes (shown once), passkeys (list, add, rename, remove). Every change needs a
 * fresh sign-in (requireFresh) and the session's CSRF token.
 */
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { AppError, NotFound } from '../lib/errors.ts';
import { parseJsonField, registrationResponseSchema } from '../mfa/webauthn-schemas.ts';
import { accountOf, requireFresh } from './guards.ts';
import type { AccountDeps } from './routes.ts';

const totpConfirm = z.object({ factorId: z.uuid(), code: z.string().max(20) });
const passkeyName = z.string().trim().min(1).max(64);
const passkeyForm = z.object({ name: passkeyName, response: z.string().max(32_768).default('') });
const renameForm = z.object({ name: passkeyName });
const passkeyId = z.uuid();

export function factorRoutes(deps: AccountDeps, form: RequestHandler, csrf: RequestHandler): Router {
  const router = Router({ mergeParams: true });
  const ctxOf = (req: { ip?: string | undefined }, userId: string) => ({ actor: `user:${userId}`, ip: req.ip ?? null });

  // --- TOTP ---------------------------------------------------------------------------------------
  router.get('/totp', requireFresh(deps, '/totp'), async (_req, res) => {
    const a = accountOf(res);
    const enrolment = await deps.totp.enrol(a.tenant, a.user.id, { issuer: `Portcullis (${a.tenant})`, label: a.user.username });
    res.type('html').send(deps.render('account-totp', { title: 'Set up an authenticator app', a, enrolment, error: null }));
  });

  router.post('/totp', form, csrf, requireFresh(deps, '/totp'), async (req, res) => {
    const a = accountOf(res);
    const body = totpConfirm.parse(req.body ?? {});
    if (await deps.totp.confirm(a.tenant, a.user.id, body.factorId, body.code, ctxOf(req, a.user.id))) {
      res.redirect(303, `${a.base}?done=totp`);
      return;
    }
    res.status(400).type('html').send(deps.render('account-message', {
      title: 'Code not accepted',
      a,
      message: 'That code did not match. Scan the new QR code and try again.',
      next: `${a.base}/totp`,
    }));
  });

  router.post('/totp/remove', form, csrf, requireFresh(deps, ''), async (req, res) => {
    const a = accountOf(res);
    const active = await deps.factors.findActive(a.tenant, a.user.id, 'totp');
    if (active && (await deps.factors.remove(a.tenant, a.user.id, active.id))) {
      await deps.audit.record(a.tenant, { type: 'mfa.removed', actor: `user:${a.user.id}`, subject: `user:${a.user.id}`, ip: req.ip ?? null, details: { kind: 'totp', factorId: active.id } });
    }
    res.redirect(303, `${a.base}?done=totp-removed`);
  });

  // --- Recovery codes -----------------------------------------------------------------------------
  router.get('/recovery-codes', async (_req, res) => {
    const a = accountOf(res);
    const remaining = await deps.recoveryCodes.remaining(a.tenant, a.user.id);
    res.type('html').send(deps.render('account-recovery', { title: 'Recovery codes', a, remaining, codes: null }));
  });

  router.post('/recovery-codes', form, csrf, requireFresh(deps, '/recovery-codes'), async (req, res) => {
    const a = accountOf(res);
    const codes = await deps.recoveryCodes.regenerate(a.tenant, a.user.id, ctxOf(req, a.user.id));
    res.type('html').send(deps.render('account-recovery', { title: 'Recovery codes', a, remaining: codes.length, codes }));
  });

  // --- Passkeys -----------------------------------------------------------------------------------
  router.get('/passkeys', async (_req, res) => {
    const a = accountOf(res);
    const passkeys = await deps.passkeys.list(a.tenant, a.user.id);
    res.type('html').send(deps.render('account-passkeys', { title: 'Passkeys', a, passkeys, error: null }));
  });

  // Called by public/js/account-passkeys.js: JSON options, or 401 with where to sign in again.
  router.post('/passkeys/options', form, csrf, async (req, res) => {
    const a = accountOf(res);
    if (!a.fresh) {
      res.status(401).json({ error: 'login_required', location: `${a.base}/reauthenticate` });
      return;
    }
    const displayName = [a.user.givenName, a.user.familyName].filter(Boolean).join(' ') || a.user.username;
    const options = await deps.passkeys.registrationOptions(a.tenant, { id: a.user.id, username: a.user.username, displayName }, `account:${a.session.nonce}`);
    res.json(options);
  });

  router.post('/passkeys', form, csrf, requireFresh(deps, '/passkeys'), async (req, res) => {
    const a = accountOf(res);
    const body = passkeyForm.parse(req.body ?? {});
    const response = parseJsonField(registrationResponseSchema, body.response);
    const result = response
      ? await deps.passkeys.register(a.tenant, a.user.id, `account:${a.session.nonce}`, body.name, response, ctxOf(req, a.user.id))
      : undefined;
    if (result?.ok) {
      res.redirect(303, `${a.base}/passkeys`);
      return;
    }
    const passkeys = await deps.passkeys.list(a.tenant, a.user.id);
    const error = !response
      ? 'Adding a passkey needs JavaScript and a browser that supports passkeys.'
      : result?.reason === 'duplicate'
        ? 'That passkey is already registered.'
        : 'The passkey could not be added. Please try again.';
    res.status(400).type('html').send(deps.render('account-passkeys', { title: 'Passkeys', a, passkeys, error }));
  });

  router.post('/passkeys/:id/rename', form, csrf, requireFresh(deps, '/passkeys'), async (req, res) => {
    const a = accountOf(res);
    const id = passkeyId.parse(req.params.id);
    const { name } = renameForm.parse(req.body ?? {});
    if (!(await deps.passkeys.rename(a.tenant, a.user.id, id, name, ctxOf(req, a.user.id)))) throw new NotFound('no such passkey');
    res.redirect(303, `${a.base}/passkeys`);
  });

  router.post('/passkeys/:id/remove', form, csrf, requireFresh(deps, '/passkeys'), async (req, res) => {
    const a = accountOf(res);
    const id = passkeyId.parse(req.params.id);
    if (!(await deps.passkeys.remove(a.tenant, a.user.id, id, ctxOf(req, a.user.id)))) throw new NotFound('no such passkey');
    res.redirect(303, `${a.base}/passkeys`);
  });

  router.use((req, _res, next) => {
    next(new AppError('not_found', 404, `no page ${req.path}`));
  });
  return router;
}
