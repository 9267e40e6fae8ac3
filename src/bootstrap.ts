/**
 * First-start setup: the operator tenant `admin`, the bootstrap admin token, and (unless disabled) a `demo`
 * tenant with a demo user and a demo client, so that a new user can sign in right away.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ADMIN_TENANT } from './admin/admin-auth.ts';
import type { Container } from './container.ts';
import { Conflict } from './lib/errors.ts';

export const DEMO_TENANT = 'demo';
export const DEMO_CLIENT = 'demo-app';
const SYSTEM = { actor: 'system:bootstrap' };

export interface BootstrapResult {
  /** Set on the very first start when no PORTCULLIS_ADMIN_TOKEN is configured: print it once. */
  readonly adminToken?: string;
  readonly demo?: { username: string; password: string; authorizationUrl: string; codeVerifier: string; tokenCommand: string };
}

async function ensureTenant(c: Container, id: string, displayName: string): Promise<boolean> {
  if (await c.tenants.find(id)) return false;
  try {
    await c.tenants.create({ id, displayName }, SYSTEM);
    return true;
  } catch (error) {
    if (error instanceof Conflict) return false; // another node created it first
    throw error;
  }
}

export async function bootstrap(c: Container): Promise<BootstrapResult> {
  await ensureTenant(c, ADMIN_TENANT, 'Portcullis administration');
  const adminToken = await c.adminAuth.ensureBootstrapToken(c.config.adminToken);
  if (!c.config.demo || !(await ensureTenant(c, DEMO_TENANT, 'Demo'))) return { adminToken };

  const password = randomBytes(12).toString('base64url');
  await c.userService.create(
    DEMO_TENANT,
    { username: 'demo', email: 'demo@example.com', emailVerified: true, givenName: 'Demo', familyName: 'User', password },
    SYSTEM,
  );
  const redirectUri = `${c.config.publicUrl}/demo/callback`;
  await c.clients.register(
    DEMO_TENANT,
    {
      client_id: DEMO_CLIENT,
      client_name: 'Portcullis demo app',
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [`${c.config.publicUrl}/demo/signed-out`],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    },
    SYSTEM,
  );
  const codeVerifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(codeVerifier).digest('base64url');
  const issuer = `${c.config.publicUrl}/t/${DEMO_TENANT}`;
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: DEMO_CLIENT,
    response_type: 'code',
    scope: 'openid profile email',
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
  }).toString();
  const tokenCommand =
    `curl -s ${issuer}/token -d grant_type=authorization_code -d client_id=${DEMO_CLIENT} ` +
    `-d redirect_uri=${redirectUri} -d code_verifier=${codeVerifier} -d code=<code>`;
  return { adminToken, demo: { username: 'demo', password, authorizationUrl: url.toString(), codeVerifier, tokenCommand } };
}
