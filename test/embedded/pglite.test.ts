/**
 * The embedded default: `node src/main.ts` with no DATABASE_URL runs on PGlite in DATA_DIR, prints the
 * admin token and demo credentials once, lets the demo user sign in to the demo app, stops cleanly on
 * SIGTERM and finds everything again at the next start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, signInThroughBrowser } from '../helpers/fixtures.ts';
import { OVER_HTTP } from '../helpers/insecure.ts';
import { PortcullisProcess } from '../helpers/process.ts';
import { freePort } from '../helpers/server.ts';

const LISTENING = /"msg":"Portcullis is listening"/;
const ADMIN_TOKEN_LINE = /Admin API token \(shown once, store it now\): (\S+)/;
const DEMO_USER_LINE = /Demo user: +demo \/ (\S+)/;

let dataDir: string;
let publicUrl: string;
let env: Record<string, string>;
const started: PortcullisProcess[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'portcullis-embedded-'));
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  env = { PORT: String(port), PUBLIC_URL: publicUrl, DATA_DIR: dataDir, PORTCULLIS_DEMO: 'true', LOG_LEVEL: 'info' };
});

afterAll(async () => {
  for (const p of started) await p.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<PortcullisProcess> {
  const p = new PortcullisProcess(env);
  started.push(p);
  await p.waitFor(LISTENING);
  expect(await expectStatus(await fetch(`${publicUrl}/readyz`), 200)).toMatchObject({ ready: true, database: true, migrations: true });
  return p;
}

describe('embedded PGlite', () => {
  let adminToken: string;

  it('starts on PGlite, signs the demo user in to the demo app, and stops cleanly', async () => {
    const first = await start();
    adminToken = (await first.waitFor(ADMIN_TOKEN_LINE))[1]!;
    const password = (await first.waitFor(DEMO_USER_LINE))[1]!;
    expect(first.stdout).toMatch(/DATABASE_URL is not set: using embedded PGlite/);

    const config = await oidc.discovery(new URL(`${publicUrl}/t/demo`), 'demo-app', undefined, oidc.None(), OVER_HTTP);
    const redirectUri = `${publicUrl}/demo/callback`;
    const { callback, verifier, state } = await signInThroughBrowser(config, { username: 'demo', password }, { redirectUri });
    // The demo app's landing page shows the code to a person finishing by hand.
    const landing = await fetch(callback);
    expect(landing.status).toBe(200);
    expect(await landing.text()).toContain(callback.searchParams.get('code'));

    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const sub = tokens.claims()?.sub;
    expect(sub).toBeTruthy();
    expect(await oidc.fetchUserInfo(config, tokens.access_token, sub!)).toMatchObject({ preferred_username: 'demo', email: 'demo@example.com' });

    expect(await first.stop()).toBe(0);
  }, 60_000);

  it('keeps its data across a restart and prints no new credentials', async () => {
    expect(adminToken).toBeTruthy();
    const second = await start();
    const users = (await expectStatus(
      await fetch(`${publicUrl}/admin/api/tenants/demo/users?q=demo`, { headers: { authorization: `Bearer ${adminToken}` } }),
      200,
    )) as { items: { username: string }[] };
    expect(users.items.map((u) => u.username)).toEqual(['demo']);
    const signIns = (await expectStatus(
      await fetch(`${publicUrl}/admin/api/tenants/demo/audit-events?type=signin.success`, { headers: { authorization: `Bearer ${adminToken}` } }),
      200,
    )) as { items: unknown[] };
    expect(signIns.items).toHaveLength(1);

    expect(await second.stop()).toBe(0);
    // Everything the second process printed, from start to exit: no token, no password.
    expect(second.stdout).not.toMatch(ADMIN_TOKEN_LINE);
    expect(second.stdout).not.toMatch(DEMO_USER_LINE);
    expect(second.stdout).not.toContain('Portcullis is ready.');
  }, 60_000);
});
