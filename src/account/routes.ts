/**
 * `/t/{tenant}/account`: the self-service pages (overview, devices and sessions, data export, sign-in and
 * sign-out); factor pages are in factor-routes.ts. Server-rendered, no inline scripts, CSRF on every form.
 */
import express, { Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Renderer } from '../http/views.ts';
import { AppError } from '../lib/errors.ts';
import type { FactorRepository } from '../mfa/factor-repository.ts';
import type { RecoveryCodes } from '../mfa/recovery-codes.ts';
import type { TotpService } from '../mfa/totp.ts';
import type { PasskeyService } from '../mfa/webauthn.ts';
import type { DeviceRepository } from '../risk/signals/device-repository.ts';
import { ACCOUNT_SESSION_SECONDS, randomToken } from './account-cookies.ts';
import { factorRoutes } from './factor-routes.ts';
import { accountOf, nowSeconds, requireCsrf, requireSession, startSignIn, tenantOf, type GuardDeps } from './guards.ts';

export interface AccountDeps extends GuardDeps {
  readonly render: Renderer;
  readonly audit: AuditLog;
  readonly totp: TotpService;
  readonly factors: FactorRepository;
  readonly recoveryCodes: RecoveryCodes;
  readonly passkeys: PasskeyService;
  readonly devices: DeviceRepository;
  readonly maxBodyBytes: number;
}

const callbackQuery = z.object({
  code: z.string().max(512).optional(),
  state: z.string().max(200).optional(),
  error: z.string().max(200).optional(),
});
const sessionUid = z.string().min(1).max(128);

export function accountRoutes(deps: AccountDeps): Router {
  const router = Router({ mergeParams: true });
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 20 });
  const csrf = requireCsrf(deps);

  // The account client's redirect URI: finishes the authorization started by startSignIn.
  router.get('/callback', async (req, res) => {
    const tenant = tenantOf(req);
    const query = callbackQuery.parse(req.query);
    const tx = deps.cookies.readTransaction(req, tenant, nowSeconds(deps.clock));
    deps.cookies.clear(res, tenant, 'transaction');
    if (!tx || !query.state || query.state !== tx.state) throw new AppError('invalid_request', 400, 'the sign-in has expired; please start again');
    if (query.error || !query.code) throw new AppError('access_denied', 403, 'the sign-in did not complete');
    const signIn = await deps.client.redeem(tenant, query.code, tx.verifier);
    if (!signIn) throw new AppError('invalid_grant', 400, 'the sign-in has expired; please start again');
    deps.cookies.writeSession(res, tenant, {
      sub: signIn.userId,
      authTime: signIn.authTime,
      amr: [...signIn.amr],
      acr: signIn.acr,
      sid: signIn.sessionUid,
      nonce: randomToken(16),
      exp: nowSeconds(deps.clock) + ACCOUNT_SESSION_SECONDS,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, tx.returnTo);
  });

  router.use(requireSession(deps));

  router.get('/', async (req, res) => {
    const a = accountOf(res);
    const [factors, passkeys, remaining] = await Promise.all([
      deps.factors.list(a.tenant, a.user.id),
      deps.passkeys.list(a.tenant, a.user.id),
      deps.recoveryCodes.remaining(a.tenant, a.user.id),
    ]);
    res.type('html').send(
      deps.render('account', {
        title: 'Your account',
        a,
        totp: factors.find((f) => f.kind === 'totp' && f.status === 'active') ?? null,
        passkeys: passkeys.length,
        recoveryCodes: remaining,
        signedInAt: new Date(a.session.authTime * 1000).toISOString(),
        notice: typeof req.query.done === 'string' ? req.query.done.slice(0, 40) : null,
      }),
    );
  });

  router.get('/activity', async (_req, res) => {
    const a = accountOf(res);
    const [devices, sessions] = await Promise.all([deps.devices.list(a.tenant, a.user.id), deps.client.sessions(a.tenant, a.user.id)]);
    res.type('html').send(deps.render('account-activity', { title: 'Devices and sessions', a, devices, sessions }));
  });

  router.post('/sessions/:uid/end', form, csrf, async (req, res) => {
    const a = accountOf(res);
    const uid = sessionUid.parse(req.params.uid);
    if (await deps.client.endSession(a.tenant, a.user.id, uid)) {
      await deps.audit.record(a.tenant, { type: 'logout', actor: `user:${a.user.id}`, subject: `user:${a.user.id}`, ip: req.ip ?? null, details: { session: uid, via: 'account' } });
    }
    res.redirect(303, `${a.base}/activity`);
  });

  // The user's own data as JSON: profile, factors (never secrets), passkeys, devices, sessions.
  router.get('/export', async (_req, res) => {
    const a = accountOf(res);
    const [factors, passkeys, devices, sessions] = await Promise.all([
      deps.factors.list(a.tenant, a.user.id),
      deps.passkeys.list(a.tenant, a.user.id),
      deps.devices.list(a.tenant, a.user.id),
      deps.client.sessions(a.tenant, a.user.id),
    ]);
    res.setHeader('Content-Disposition', 'attachment; filename="account.json"');
    res.json({
      tenant: a.tenant,
      profile: a.user,
      factors: factors.map((f) => ({ id: f.id, kind: f.kind, status: f.status, createdAt: f.createdAt, lastUsedAt: f.lastUsedAt })),
      passkeys: passkeys.map((p) => ({ id: p.id, name: p.name, createdAt: p.createdAt, lastUsedAt: p.lastUsedAt, backupEligible: p.deviceType === 'multiDevice', backedUp: p.backedUp })),
      devices,
      sessions,
    });
  });

  // Ends this account session and the tenant session it came from (the user signs in again next time).
  router.post('/signout', form, csrf, async (req, res) => {
    const a = accountOf(res);
    if (a.session.sid) await deps.client.endSession(a.tenant, a.user.id, a.session.sid);
    deps.cookies.clear(res, a.tenant, 'session');
    await deps.audit.record(a.tenant, { type: 'logout', actor: `user:${a.user.id}`, subject: `user:${a.user.id}`, ip: req.ip ?? null, details: { via: 'account' } });
    res.type('html').send(deps.render('logged-out', { title: 'Signed out', clientName: null }));
  });

  // A fresh sign-in on request (the overview's "confirm it's you" link).
  router.get('/reauthenticate', async (req, res) => {
    await startSignIn(deps, req, res, { fresh: true, returnTo: accountOf(res).base });
  });

  router.use(factorRoutes(deps, form, csrf));
  return router;
}
