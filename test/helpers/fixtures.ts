/** Tenants, users and clients created through the real admin API. */
import * as oidc from 'openid-client';
import type { TestServer } from './server.ts';
import { Browser, type Page } from './browser.ts';
import { OVER_HTTP } from './insecure.ts';

export async function expectStatus(res: Response, status: number): Promise<unknown> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export async function createTenant(server: TestServer, id: string): Promise<void> {
  await expectStatus(await server.admin('/tenants', { body: { id, displayName: id.toUpperCase() } }), 201);
}

export interface CreatedUser {
  id: string;
  username: string;
  password: string;
}

export async function createUser(server: TestServer, tenant: string, username: string, extra: Record<string, unknown> = {}): Promise<CreatedUser> {
  const password = `pw-${username}-Secret!42`;
  const user = (await expectStatus(
    await server.admin(`/tenants/${tenant}/users`, {
      body: { username, password, email: `${username}@example.com`, givenName: 'Ada', familyName: 'Lovelace', ...extra },
    }),
    201,
  )) as { id: string };
  return { id: user.id, username, password };
}

export interface CreatedClient {
  client_id: string;
  client_secret?: string;
  redirect_uris?: string[];
}

export async function createClient(server: TestServer, tenant: string, metadata: Record<string, unknown>): Promise<CreatedClient> {
  return (await expectStatus(await server.admin(`/tenants/${tenant}/clients`, { body: metadata }), 201)) as CreatedClient;
}

/** openid-client configuration for a registered client, over plain http (tests only). */
export async function relyingParty(server: TestServer, tenant: string, client: CreatedClient): Promise<oidc.Configuration> {
  const auth = client.client_secret ? oidc.ClientSecretBasic(client.client_secret) : oidc.None();
  return oidc.discovery(new URL(server.issuer(tenant)), client.client_id, undefined, auth, OVER_HTTP);
}

export interface AuthorizationResult {
  readonly callback: URL;
  readonly verifier: string;
  readonly state: string;
  readonly browser: Browser;
}

/**
 * Runs the browser part of an authorization-code + PKCE flow through the real login form and returns the
 * redirect to the client's callback. `consent` approves the consent page if one is shown.
 */
export async function signInThroughBrowser(
  config: oidc.Configuration,
  user: { username: string; password: string },
  options: { redirectUri: string; scope?: string; prompt?: string; browser?: Browser; extra?: Record<string, string> },
): Promise<AuthorizationResult> {
  const browser = options.browser ?? new Browser();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(options.prompt ? { prompt: options.prompt } : {}),
    ...options.extra,
  });
  const atCallback = (u: string): boolean => u.startsWith(options.redirectUri);
  let page: Page = await browser.open(url.toString(), {}, atCallback);
  if (!atCallback(page.url) && page.html.includes('name="password"')) {
    page = await browser.submit(page, '/login', { username: user.username, password: user.password }, atCallback);
  }
  if (!atCallback(page.url) && page.html.includes('/confirm')) {
    page = await browser.submit(page, '/confirm', {}, atCallback);
  }
  if (!atCallback(page.url)) throw new Error(`did not reach the callback; at ${page.url} (${page.status}):\n${page.html.slice(0, 1500)}`);
  return { callback: new URL(page.url), verifier, state, browser };
}
