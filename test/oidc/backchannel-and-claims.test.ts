/**
 * Back-channel logout reaches the client's endpoint with a signed logout token (OpenID Connect Back-Channel
 * Logout 1.0), and the `groups` claim carries nested group memberships.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createClient, createTenant, createUser, relyingParty, signInThroughBrowser, type CreatedUser } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const REDIRECT = 'https://rp.example.test/cb';
let db: TestDatabase;
let server: TestServer;
let user: CreatedUser;
let receiver: Server;
let receiverUrl: string;
const logoutTokens: string[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (token) logoutTokens.push(token);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/backchannel`;
  db = await createTestDatabase();
  server = await startTestServer({ databaseUrl: db.url, env: { OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true' } });
  await createTenant(server, 'globex');
  user = await createUser(server, 'globex', 'grace');
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('back-channel logout', () => {
  it('posts a signed logout token to the client when the user signs out', async () => {
    const client = await createClient(server, 'globex', {
      redirect_uris: [REDIRECT],
      post_logout_redirect_uris: ['https://rp.example.test/bye'],
      backchannel_logout_uri: receiverUrl,
      backchannel_logout_session_required: true,
    });
    const config = await relyingParty(server, 'globex', client);
    const { callback, verifier, state, browser } = await signInThroughBrowser(config, user, { redirectUri: REDIRECT });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const sid = tokens.claims()?.sid;
    expect(typeof sid).toBe('string');

    const confirm = await browser.open(
      oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://rp.example.test/bye' }).toString(),
    );
    await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, (u) => u.startsWith('https://rp.example.test/'));

    expect(logoutTokens).toHaveLength(1);
    const jwks = createRemoteJWKSet(new URL(`${server.issuer('globex')}/jwks`));
    const { payload } = await jwtVerify(logoutTokens[0]!, jwks, { issuer: server.issuer('globex'), audience: client.client_id });
    expect(payload.sub).toBe(user.id);
    expect(payload.sid).toBe(sid);
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });

    // The refresh-less access token of that session no longer works at userinfo.
    await expect(oidc.fetchUserInfo(config, tokens.access_token, user.id)).rejects.toThrow();
  });
});

describe('deactivation', () => {
  it('tells clients over the back channel, revokes every token and records a CAEP event', async () => {
    const victim = await createUser(server, 'globex', 'henry');
    const client = await createClient(server, 'globex', {
      redirect_uris: [REDIRECT],
      backchannel_logout_uri: receiverUrl,
      backchannel_logout_session_required: true,
    });
    const config = await relyingParty(server, 'globex', client);
    const { callback, verifier, state } = await signInThroughBrowser(config, victim, {
      redirectUri: REDIRECT,
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.refresh_token).toBeTruthy();
    const before = logoutTokens.length;

    const res = await server.admin(`/tenants/globex/users/${victim.id}`, { method: 'PATCH', body: { active: false } });
    expect(res.status).toBe(200);

    expect(logoutTokens.length).toBe(before + 1);
    const jwks = createRemoteJWKSet(new URL(`${server.issuer('globex')}/jwks`));
    const { payload } = await jwtVerify(logoutTokens.at(-1)!, jwks, { issuer: server.issuer('globex'), audience: client.client_id });
    expect(payload.sub).toBe(victim.id);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);

    const events = (await (await server.admin(`/tenants/globex/audit-events?type=caep.session_revoked&subject=user:${victim.id}`)).json()) as {
      items: { actor: string; details: { event: string; reason: string; backchannelNotified: string[] } }[];
    };
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({
      actor: 'admin:bootstrap',
      details: { event: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked', reason: 'user.deactivated', backchannelNotified: [client.client_id] },
    });
  });
});

describe('groups claim', () => {
  it('lists direct and nested group names when the groups scope is granted', async () => {
    const groups = server.container.groups;
    const engineering = await groups.insert('globex', { id: newId(), name: 'engineering' });
    const staff = await groups.insert('globex', { id: newId(), name: 'staff' });
    const everyone = await groups.insert('globex', { id: newId(), name: 'everyone' });
    const unrelated = await groups.insert('globex', { id: newId(), name: 'unrelated' });
    await groups.addMember('globex', engineering.id, { kind: 'user', id: user.id });
    await groups.addMember('globex', staff.id, { kind: 'group', id: engineering.id });
    await groups.addMember('globex', everyone.id, { kind: 'group', id: staff.id });
    await groups.addMember('globex', engineering.id, { kind: 'group', id: everyone.id }); // a cycle must not loop

    const client = await createClient(server, 'globex', { redirect_uris: [REDIRECT] });
    const config = await relyingParty(server, 'globex', client);
    const { callback, verifier, state } = await signInThroughBrowser(config, user, { redirectUri: REDIRECT, scope: 'openid groups' });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info.groups).toEqual(['engineering', 'everyone', 'staff']);

    const adminView = (await (await server.admin(`/tenants/globex/users/${user.id}`)).json()) as { groups: string[] };
    expect(adminView.groups).toEqual(['engineering', 'everyone', 'staff']);

    // The list answers every user's groups from one query: members and non-members side by side.
    const other = await createUser(server, 'globex', 'ivan');
    await groups.addMember('globex', unrelated.id, { kind: 'user', id: other.id });
    const list = (await (await server.admin('/tenants/globex/users?limit=200')).json()) as { items: { id: string; groups: string[] }[] };
    const byId = new Map(list.items.map((u) => [u.id, u.groups]));
    expect(byId.get(user.id)).toEqual(['engineering', 'everyone', 'staff']);
    expect(byId.get(other.id)).toEqual(['unrelated']);
    expect([...byId.values()].filter((g) => g.length === 0).length).toBe(list.items.length - 2);
  });
});
