/** The first steps of a browser sign-in, for tests that drive the login form themselves. */
import * as oidc from 'openid-client';
import { Browser, findForm, type Page } from './browser.ts';

/** What a desktop browser sends when it navigates: it prefers HTML, so errors come back as pages. */
export const BROWSER_HEADERS = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' };

export interface LoginPage {
  readonly browser: Browser;
  readonly page: Page;
  readonly verifier: string;
}

/** Starts an authorization-code + PKCE request and follows it to the login form. */
export async function openLoginPage(
  config: oidc.Configuration,
  options: { redirectUri: string; scope?: string; prompt?: string; browser?: Browser },
): Promise<LoginPage> {
  const browser = options.browser ?? new Browser(BROWSER_HEADERS);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
    ...(options.prompt ? { prompt: options.prompt } : {}),
  });
  const page = await browser.open(url.toString(), {}, (u) => u.startsWith(options.redirectUri));
  if (!page.html.includes('name="password"')) throw new Error(`expected the login form at ${page.url} (${page.status}):\n${page.html.slice(0, 1500)}`);
  return { browser, page, verifier };
}

/** Posts the login form of `page` with exactly `fields` (no hidden fields added). */
export async function postLoginForm(browser: Browser, page: Page, fields: Record<string, string>): Promise<Page> {
  const form = findForm(page.html, '/login');
  return browser.open(new URL(form.action, page.url).toString(), {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

/** The text of the login page's error message, or undefined when it shows none. */
export function loginError(html: string): string | undefined {
  return /<p class="alert" role="alert" id="login-error">([\s\S]*?)<\/p>/.exec(html)?.[1]?.trim();
}
