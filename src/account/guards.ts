/**
 * The account page's request steps: who is signed in (its own cookie session), CSRF on every form, and
 * freshness before factor changes. A missing session or a stale one sends the browser through a new
 * authorization of the account client; `fresh` adds `prompt=login` and `max_age=0`.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Csrf } from '../http/csrf.ts';
import type { UserView } from '../identity/user-schemas.ts';
import type { UserService } from '../identity/user-service.ts';
import type { Clock } from '../lib/clock.ts';
import { Forbidden, NotFound, Unauthorized } from '../lib/errors.ts';
import type { AccountClient } from '../oidc/account-client.ts';
import { randomToken, type AccountCookies, type AccountSession } from './account-cookies.ts';

export interface GuardDeps {
  readonly client: AccountClient;
  readonly cookies: AccountCookies;
  readonly csrf: Csrf;
  readonly users: UserService;
  readonly clock: Clock;
  /** A sign-in at most this old (seconds) may change factors. */
  readonly freshSeconds: number;
  readonly tenantExists: (tenantId: string) => Promise<boolean>;
}

export interface AccountContext {
  readonly tenant: string;
  readonly session: AccountSession;
  readonly user: UserView;
  /** The CSRF token of this session's forms. */
  readonly csrf: string;
  readonly fresh: boolean;
  /** `/t/{tenant}/account` */
  readonly base: string;
}

export function tenantOf(req: Request): string {
  return String((req.params as Record<string, string | undefined>).tenant);
}

export function accountOf(res: Response): AccountContext {
  return (res.locals as { account: AccountContext }).account;
}

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now().getTime() / 1000);
}

function safeReturnTo(tenant: string, value: string): string {
  const base = `/t/${tenant}/account`;
  return value.startsWith(base) && !value.includes('//') && !value.includes('\\') ? value : base;
}

/** Starts an authorization of the account client and redirects the browser to it. */
export async function startSignIn(deps: GuardDeps, req: Request, res: Response, p: { fresh: boolean; returnTo: string }): Promise<void> {
  const tenant = tenantOf(req);
  await deps.client.ensure(tenant);
  const state = randomToken();
  const verifier = randomToken();
  deps.cookies.writeTransaction(res, tenant, { state, verifier, returnTo: safeReturnTo(tenant, p.returnTo) }, nowSeconds(deps.clock));
  const codeChallenge = createHash('sha256').update(verifier).digest('base64url');
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(303, deps.client.authorizationUrl(tenant, { state, codeChallenge, fresh: p.fresh }));
}

/** Loads the session (and user) into res.locals.account; without one, GET signs in and others get 401. */
export function requireSession(deps: GuardDeps): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const tenant = tenantOf(req);
    if (!(await deps.tenantExists(tenant))) throw new NotFound('no such tenant');
    const now = nowSeconds(deps.clock);
    const session = deps.cookies.readSession(req, tenant, now);
    const user = session ? await deps.users.get(tenant, session.sub).catch(() => undefined) : undefined;
    if (!session || !user?.active) {
      if (session) deps.cookies.clear(res, tenant, 'session');
      if (req.method === 'GET') {
        await startSignIn(deps, req, res, { fresh: false, returnTo: req.originalUrl });
        return;
      }
      throw new Unauthorized('sign in to your account first');
    }
    const context: AccountContext = {
      tenant,
      session,
      user,
      csrf: deps.csrf.token(`account:${tenant}:${session.nonce}`),
      fresh: now - session.authTime <= deps.freshSeconds,
      base: `/t/${tenant}/account`,
    };
    (res.locals as { account: AccountContext }).account = context;
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
}

const csrfField = z.object({ csrf: z.string().max(200).default('') });

/** Every state-changing request carries the session's CSRF token (form field `csrf`). */
export function requireCsrf(deps: GuardDeps): RequestHandler {
  return (req, res, next) => {
    const { tenant, session } = accountOf(res);
    const { csrf } = csrfField.parse(req.body ?? {});
    if (!deps.csrf.verify(`account:${tenant}:${session.nonce}`, csrf)) throw new Forbidden('the form has expired; please reload the page');
    next();
  };
}

/**
 * Factor changes need a recent sign-in: otherwise a new authorization with `prompt=login` (303), after
 * which the browser comes back to `page`, and nothing has changed.
 */
export function requireFresh(deps: GuardDeps, page: string): RequestHandler {
  return async (req, res, next) => {
    const account = accountOf(res);
    if (account.fresh) {
      next();
      return;
    }
    await startSignIn(deps, req, res, { fresh: true, returnTo: `${account.base}${page}` });
  };
}
