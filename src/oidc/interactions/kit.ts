/**
 * What the interaction handlers share: the tenant's provider and interaction, page rendering, and finishing
 * a sign-in (learn it, set the device cookie, audit, hand acr/amr to oidc-provider).
 */
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Csrf } from '../../http/csrf.ts';
import type { Metrics } from '../../http/metrics.ts';
import type { RateLimiter } from '../../http/rate-limit.ts';
import type { Renderer } from '../../http/views.ts';
import { AppError, NotFound } from '../../lib/errors.ts';
import type { AuthenticationEvent } from '../../mfa/amr.ts';
import type { TotpService } from '../../mfa/totp.ts';
import type { DeviceCookies } from '../../risk/device-cookie.ts';
import type { DeviceVerdict } from '../../risk/types.ts';
import type { ProviderRegistry } from '../provider-registry.ts';
import { cookieValue } from './cookies.ts';
import type { PendingSignIn, PendingSignIns } from './pending-sign-ins.ts';
import { loginOutcome, stepUpMethods, type SignInDeps } from './sign-in.ts';

export interface InteractionDeps extends SignInDeps {
  readonly registry: ProviderRegistry;
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly csrf: Csrf;
  readonly limiter: RateLimiter;
  readonly render: Renderer;
  readonly loginPerMinute: number;
  readonly maxBodyBytes: number;
  readonly totp: TotpService;
  readonly pending: PendingSignIns;
  readonly deviceCookies: DeviceCookies;
  /** Cookies get `Secure` when PUBLIC_URL is https. */
  readonly secureCookies: boolean;
}

export type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export function tenantOf(req: Request): string {
  return String((req.params as Record<string, string | undefined>).tenant);
}

export function clientIdOf(details: Details): string | null {
  return typeof details.params.client_id === 'string' ? details.params.client_id : null;
}

export async function providerFor(deps: InteractionDeps, req: Request): Promise<Provider> {
  const provider = await deps.registry.get(tenantOf(req));
  if (!provider) throw new NotFound('no such tenant');
  return provider;
}

export async function detailsFor(req: Request, res: Response, provider: Provider): Promise<Details> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== req.params.uid) throw new AppError('invalid_request', 400, 'interaction mismatch');
  return details;
}

export async function clientName(provider: Provider, clientId: unknown): Promise<string> {
  const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
  return client?.clientName ?? (typeof clientId === 'string' ? clientId : 'the application');
}

export function deviceOf(deps: InteractionDeps, req: Request, tenant: string): DeviceVerdict {
  return deps.deviceCookies.verify(tenant, cookieValue(req.headers.cookie, deps.deviceCookies.name(tenant)));
}

export interface LoginExtra {
  readonly error?: string;
  readonly username?: string;
}

export async function renderLoginPage(
  deps: InteractionDeps,
  res: Response,
  provider: Provider,
  page: LoginExtra & { readonly tenant: string; readonly uid: string; readonly clientId: unknown },
): Promise<void> {
  const { tenant, uid } = page;
  res.type('html').send(
    deps.render('login', {
      title: 'Sign in',
      action: `/t/${tenant}/interaction/${uid}/login`,
      abort: `/t/${tenant}/interaction/${uid}/abort`,
      csrf: deps.csrf.token(uid),
      client: await clientName(provider, page.clientId),
      error: page.error ?? null,
      username: page.username ?? '',
    }),
  );
}

export async function renderStepUp(
  deps: InteractionDeps,
  res: Response,
  tenant: string,
  uid: string,
  pending: PendingSignIn,
  error?: string,
): Promise<void> {
  const methods = await stepUpMethods(deps, tenant, pending);
  res.setHeader('Cache-Control', 'no-store');
  res.type('html').send(
    deps.render('step-up', {
      title: "Confirm it's you",
      action: `/t/${tenant}/interaction/${uid}/step-up`,
      abort: `/t/${tenant}/interaction/${uid}/abort`,
      csrf: deps.csrf.token(uid),
      reason: pending.reason,
      error: error ?? null,
      ...methods,
    }),
  );
}

/**
 * Ends the interaction with `access_denied` and shows why: the result is stored with oidc-provider and the
 * page links to its resume URL, which sends the browser back to the client with the error.
 */
export async function deny(deps: InteractionDeps, req: Request, res: Response, provider: Provider, details: Details, reason: string): Promise<void> {
  const returnTo = await provider.interactionResult(
    req,
    res,
    { error: 'access_denied', error_description: 'the sign-in was not allowed' },
    { mergeWithLastSubmission: false },
  );
  res.status(403).setHeader('Cache-Control', 'no-store');
  res.type('html').send(
    deps.render('denied', { title: 'Sign-in not allowed', reason, returnTo, client: await clientName(provider, details.params.client_id) }),
  );
}

/** Finishes a sign-in whose factors meet its requirement; false when they do not (nothing is finished). */
export async function finishSignIn(
  deps: InteractionDeps,
  req: Request,
  res: Response,
  provider: Provider,
  pending: PendingSignIn,
  second: AuthenticationEvent | undefined,
): Promise<boolean> {
  const tenant = tenantOf(req);
  const outcome = loginOutcome(deps, pending, second);
  if (!outcome) return false;
  const first = pending.firstFactor;
  // A passkey used on this browser binds its device to the user (trust evidence for later sign-ins).
  const passkeyUsed = first.method === 'passkey' || second?.method === 'passkey';
  const risk = deps.risk;
  // The engine's learning and the audit event are independent writes: they go out together.
  const completed = pending.assessment && risk ? risk.complete(pending.assessment, { passkeyBound: passkeyUsed }) : undefined;
  deps.metrics.signIns.inc({ tenant, outcome: 'success' });
  const recorded = deps.audit.record(tenant, {
    type: 'signin.success',
    actor: `user:${pending.userId}`,
    subject: `user:${pending.userId}`,
    ip: req.ip ?? null,
    details: {
      method: second ? `${first.method}+${second.method}` : first.method,
      ...(first.method === 'passkey' ? { passkeyId: first.passkeyId } : {}),
      amr: outcome.amr,
      acr: outcome.acr,
      client: pending.clientId,
      assessmentId: pending.assessment?.id ?? null,
    },
  });
  const [learned] = await Promise.all([completed, recorded]);
  if (learned) res.cookie(deps.deviceCookies.name(tenant), learned.deviceCookie, deps.deviceCookies.attributes(tenant, deps.secureCookies));
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: pending.userId, acr: outcome.acr, amr: outcome.amr, remember: true } },
    { mergeWithLastSubmission: false },
  );
  return true;
}
