/**
 * Endpoint URLs come from PUBLIC_URL, never from the request: a forged Host or X-Forwarded-Host header must
 * not put another origin into discovery (cache poisoning, phishing token endpoints).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createTenant } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, env: { TRUST_PROXY: 'loopback' } });
  await createTenant(server, 'initech');
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

function getWithHeaders(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('discovery', () => {
  it.each<Record<string, string>>([
    { host: 'evil.example' },
    { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
  ])('ignores forged origin headers %o', async (headers) => {
    const res = await getWithHeaders(`${server.issuer('initech')}/.well-known/openid-configuration`, headers);
    expect(res.status).toBe(200);
    expect(res.body).not.toContain('evil.example');
    const meta = JSON.parse(res.body) as Record<string, unknown>;
    const issuer = server.issuer('initech');
    for (const key of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'end_session_endpoint']) {
      expect(String(meta[key]).startsWith(issuer)).toBe(true);
    }
  });
});
