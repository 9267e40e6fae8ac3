/** Setting up a tenant through the admin API, and the protocol exchanges the benchmarks repeat. */
import { createHash, randomBytes } from 'node:crypto';
import { Browser, CookieJar, basicAuth, findForm, type HttpClient, type HttpResponse } from './http.ts';

export const REDIRECT_URI = 'https://app.bench.test/callback';
export const API_IDENTIFIER = 'https://api.bench.test';

export interface Credentials {
  readonly clientId: string;
  readonly secret: string;
}

export interface User {
  readonly username: string;
  readonly password: string;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly token_type: string;
}

function expect(res: HttpResponse, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.body.slice(0, 500)}`);
}

export class Admin {
  readonly #http: HttpClient;
  readonly #token: string;

  constructor(http: HttpClient, token: string) {
    this.#http = http;
    this.#token = token;
  }

  async post(path: string, body: unknown): Promise<unknown> {
    const res = await this.#http.request('POST', `/admin/api${path}`, {
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res, 201, `POST ${path}`);
    return JSON.parse(res.body) as unknown;
  }

  async createClient(tenant: string, metadata: Record<string, unknown>): Promise<Credentials> {
    const c = (await this.post(`/tenants/${tenant}/clients`, metadata)) as { client_id: string; client_secret?: string };
    if (!c.client_secret) throw new Error('the client has no secret');
    return { clientId: c.client_id, secret: c.client_secret };
  }

  async createUser(tenant: string, username: string): Promise<User> {
    const password = `pw-${username}-Secret!42`;
    await this.post(`/tenants/${tenant}/users`, {
      username,
      password,
      email: `${username}@bench.test`,
      givenName: 'Bench',
      familyName: username,
      active: true,
    });
    return { username, password };
  }
}

/** POST /token; throws unless 200. */
export async function tokenRequest(http: HttpClient, tenant: string, client: Credentials, fields: Record<string, string>): Promise<TokenResponse> {
  const res = await http.postForm(`/t/${tenant}/token`, fields, { authorization: basicAuth(client.clientId, client.secret) });
  expect(res, 200, `token (${fields.grant_type ?? '?'})`);
  return JSON.parse(res.body) as TokenResponse;
}

export interface SignInOptions {
  readonly tenant: string;
  readonly client: Credentials;
  readonly user: User;
  readonly scope: string;
  readonly prompt?: string;
  /** Stop at the authorization code (no token exchange). */
  readonly codeOnly?: boolean;
  /**
   * The long-lived cookies of this virtual user's browser (the device cookie): given to the new browser
   * and updated after the sign-in. Each sign-in still starts without a session, as after a sign-out.
   */
  readonly device?: CookieJar;
}

/** oidc-provider's per-sign-in cookies (session and interaction), which a returning browser does not keep. */
const SESSION_COOKIE = /^_(session|interaction|interaction_resume)\b/;

/**
 * One complete password sign-in as a fresh browser: authorize (PKCE S256) → login form POST → consent if
 * shown → code at the redirect URI → code exchange at the token endpoint.
 */
export async function signIn(http: HttpClient, o: SignInOptions): Promise<TokenResponse | undefined> {
  const browser = new Browser(http);
  if (o.device) browser.jar.copyFrom(o.device, () => true);
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const query = new URLSearchParams({
    client_id: o.client.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: o.scope,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(o.prompt ? { prompt: o.prompt } : {}),
  });
  const atCallback = (location: string): boolean => location.startsWith(REDIRECT_URI);
  let step = await browser.open(`/t/${o.tenant}/auth?${query.toString()}`, atCallback);
  for (let pages = 0; step.location === undefined && pages < 3; pages++) {
    const html = step.res.body;
    if (step.res.status === 200 && html.includes('name="password"')) {
      const form = findForm(html, '/login');
      step = await browser.open(form.action, atCallback, { ...form.hidden, username: o.user.username, password: o.user.password });
    } else if (step.res.status === 200 && html.includes('/confirm')) {
      const form = findForm(html, '/confirm');
      step = await browser.open(form.action, atCallback, form.hidden);
    } else {
      throw new Error(`sign-in stuck at ${step.path} (${step.res.status}): ${pageSummary(html)}`);
    }
  }
  if (step.location === undefined) throw new Error(`sign-in did not reach the callback (at ${step.path})`);
  const callback = new URL(step.location);
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) throw new Error(`bad callback: ${step.location}`);
  o.device?.copyFrom(browser.jar, (name) => !SESSION_COOKIE.test(name));
  if (o.codeOnly) return undefined;
  return tokenRequest(http, o.tenant, o.client, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
}

/** The title and first heading of a page, for error messages. */
function pageSummary(html: string): string {
  const text = (re: RegExp): string => (re.exec(html)?.[1] ?? '').replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim();
  return [text(/<title>([\s\S]*?)<\/title>/i), text(/<h1[^>]*>([\s\S]*?)<\/h1>/i)].filter(Boolean).join(' / ') || html.slice(0, 200);
}
