/**
 * The sign-in pipeline over the real server: TRUST_PROXY=loopback, so an `X-Forwarded-For` header from
 * the test process (loopback) gives the client IP; browsers drive the real forms; openid-client is the RP;
 * TOTP codes come from Debian's `oathtool` (an independent implementation).
 */
import * as oidc from 'openid-client';
import { Browser, type Page } from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, expectStatus, relyingParty, type CreatedClient, type CreatedUser } from '../helpers/fixtures.ts';
import { BROWSER_HEADERS } from '../helpers/login.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { oathtool } from '../mfa/fixture.ts';
import { BROWSER_UA, IPS } from '../risk/fixture.ts';

export { IPS };
export const REDIRECT = 'https://app.example.test/callback';

export interface SignInWorld {
  readonly db: TestDatabase;
  readonly server: TestServer;
  readonly tenant: string;
  readonly client: CreatedClient;
  readonly rp: oidc.Configuration;
  stop(): Promise<void>;
}

export async function startWorld(tenant: string, env: Record<string, string> = {}): Promise<SignInWorld> {
  const db = await createTestDatabase();
  const server = await startTestServer({
    databaseUrl: db.url,
    env: { TRUST_PROXY: 'loopback', RATE_LIMIT_LOGIN_PER_MINUTE: '1000', ...env },
  });
  await createTenant(server, tenant);
  const client = await createClient(server, tenant, {
    client_id: 'web',
    client_name: 'Acme Web',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
  });
  const rp = await relyingParty(server, tenant, client);
  return {
    db,
    server,
    tenant,
    client,
    rp,
    async stop() {
      await server.stop();
      await db.drop();
    },
  };
}

/** A desktop browser at `ip` (the proxy's X-Forwarded-For) with a real browser's user agent. */
export function browserAt(ip: string): Browser {
  return new Browser({ ...BROWSER_HEADERS, 'user-agent': BROWSER_UA, 'x-forwarded-for': ip });
}

/** Moves an existing browser (and its cookies) to another address. */
export function moveTo(browser: Browser, ip: string): void {
  browser.headers['x-forwarded-for'] = ip;
}

export async function putPolicy(world: SignInWorld, policy: unknown, tenant = world.tenant): Promise<void> {
  await expectStatus(await world.server.admin(`/tenants/${tenant}/policy`, { method: 'PUT', body: policy }), 200);
}

export interface Flow {
  readonly browser: Browser;
  readonly verifier: string;
  readonly state: string;
  readonly authorizeUrl: string;
  /** The page after the password: the callback (url starts with REDIRECT), a step-up, denied or login page. */
  readonly page: Page;
}

export const atCallback = (u: string): boolean => u.startsWith(REDIRECT);

/** Starts an authorization request in `browser` and posts the password on the login form. */
export async function passwordSignIn(
  world: SignInWorld,
  browser: Browser,
  user: { username: string; password: string },
  params: Record<string, string> = {},
): Promise<Flow> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authorizeUrl = oidc
    .buildAuthorizationUrl(world.rp, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...params,
    })
    .toString();
  let page = await browser.open(authorizeUrl, {}, atCallback);
  if (!atCallback(page.url) && page.html.includes('name="password"')) {
    page = await browser.submit(page, '/login', { username: user.username, password: user.password }, atCallback);
  }
  if (!atCallback(page.url) && page.html.includes('/confirm')) page = await browser.submit(page, '/confirm', {}, atCallback);
  return { browser, verifier, state, authorizeUrl, page };
}

/** Redeems the code at the callback with openid-client. */
export async function redeem(world: SignInWorld, flow: Flow, page: Page = flow.page): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  if (!atCallback(page.url)) throw new Error(`not at the callback: ${page.url} (${page.status})\n${page.html.slice(0, 1500)}`);
  return oidc.authorizationCodeGrant(world.rp, new URL(page.url), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
}

export function isStepUp(page: Page): boolean {
  return page.html.includes("Confirm it&#39;s you") || page.html.includes('/step-up');
}

/** The plain-language reason on a step-up or deny page. */
export function reasonOn(page: Page): string {
  const html = /id="(?:step-up-reason|denied-reason)">([\s\S]*?)<\/p>/.exec(page.html)?.[1]?.trim() ?? '';
  return html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

export interface TotpUser extends CreatedUser {
  readonly secret: string;
  /** Codes for the enrolment's time step + n (n = 1: the first sign-in code). */
  code(stepsAhead: number): string;
}

/**
 * A user with a confirmed TOTP factor, enrolled through the TotpService (the account page is another
 * part's), confirmed with oathtool's code for the current step. Later sign-ins use the next steps, which
 * the ±1-step window accepts at once (each step is accepted once).
 */
export async function createTotpUser(world: SignInWorld, username: string): Promise<TotpUser> {
  const user = await createUser(world.server, world.tenant, username);
  const { totp } = world.server.container;
  const enrolment = await totp.enrol(world.tenant, user.id, { issuer: 'Portcullis', label: username });
  const t0 = new Date();
  const ok = await totp.confirm(world.tenant, user.id, enrolment.factorId, oathtool(enrolment.secret, t0), { actor: `user:${user.id}`, ip: null });
  if (!ok) throw new Error('TOTP enrolment was not confirmed');
  return { ...user, secret: enrolment.secret, code: (n) => oathtool(enrolment.secret, new Date(t0.getTime() + n * 30_000)) };
}

export interface AuditItem {
  readonly type: string;
  readonly subject: string | null;
  readonly ip: string | null;
  readonly details: Record<string, unknown>;
}

export async function auditEvents(world: SignInWorld, type: string, subject?: string): Promise<AuditItem[]> {
  const q = new URLSearchParams({ type, limit: '200', ...(subject ? { subject } : {}) });
  const body = (await expectStatus(await world.server.admin(`/tenants/${world.tenant}/audit-events?${q.toString()}`), 200)) as { items: AuditItem[] };
  return body.items;
}

/** The newest `risk.assessment` of a user. */
export async function lastAssessment(world: SignInWorld, userId: string): Promise<AuditItem> {
  const [latest] = await auditEvents(world, 'risk.assessment', `user:${userId}`);
  if (!latest) throw new Error(`no risk.assessment for ${userId}`);
  return latest;
}

export function codesOf(event: AuditItem): string[] {
  return (event.details.contributions as { code: string; points: number }[]).map((c) => c.code);
}
