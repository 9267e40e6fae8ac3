/**
 * Contract of the oidc-provider storage adapter (src/oidc/adapter.ts) on a real, migrated PostgreSQL
 * database: what oidc-provider relies on (upsert, find, findByUid, findByUserCode, consume, destroy,
 * revokeByGrantId, expiry), the single-use race, tenant isolation and account revocation. Each case checks
 * what the adapter returns and the rows it leaves behind.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { adapterFor, purgeExpired, revokeAccount, type AdapterFactory } from '../../src/oidc/adapter.ts';
import { ClientStore } from '../../src/oidc/client-store.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';

const A = 'tenant-a';
const B = 'tenant-b';

interface Reuse {
  readonly tenantId: string;
  readonly model: string;
  readonly grantId: string | undefined;
}

let database: MigratedDatabase;
let db: Kysely<Database>;
let clients: ClientStore;
let reuses: Reuse[] = [];
let adapters: Record<typeof A | typeof B, AdapterFactory>;
/** Tenant A's adapter on a second pool: another node of the same deployment. */
let otherNodeA: AdapterFactory;

beforeAll(async () => {
  database = await createMigratedDatabase();
  db = database.db;
  await insertTenant(db, A);
  await insertTenant(db, B);
  clients = new ClientStore(db);
  const onReuse = (tenantId: string, model: string, grantId: string | undefined): void => {
    reuses.push({ tenantId, model, grantId });
  };
  adapters = { [A]: adapterFor(A, { db, clients, onReuse }), [B]: adapterFor(B, { db, clients, onReuse }) };
  const second = await database.open();
  otherNodeA = adapterFor(A, { db: second.db, clients: new ClientStore(second.db), onReuse });
});

afterAll(async () => {
  await database?.close();
});

beforeEach(() => {
  reuses = [];
});

function adapter(tenant: typeof A | typeof B, model: string): Adapter {
  return new adapters[tenant](model);
}

function newKey(label: string): string {
  return `${label}-${randomBytes(9).toString('base64url')}`;
}

function row(tenant: string, model: string, id: string) {
  return db
    .selectFrom('oidc_payloads')
    .selectAll()
    .where('tenant_id', '=', tenant)
    .where('model', '=', model)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Rows of a tenant that belong to a grant: its tokens and codes plus the Grant itself. */
async function grantRows(tenant: string, grantId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('oidc_payloads')
    .select(['model', 'id'])
    .where('tenant_id', '=', tenant)
    .where((eb) => eb.or([eb(sql<string>`payload->>'grantId'`, '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]))
    .orderBy('model')
    .execute();
  return rows.map((r) => r.model);
}

async function expire(tenant: string, model: string, id: string): Promise<void> {
  await db
    .updateTable('oidc_payloads')
    .set({ expires_at: sql<Date>`now() - interval '1 second'` })
    .where('tenant_id', '=', tenant)
    .where('model', '=', model)
    .where('id', '=', id)
    .execute();
}

interface SeededGrant {
  readonly grantId: string;
  readonly AuthorizationCode: string;
  readonly RefreshToken: string;
  readonly AccessToken: string;
}

/** What oidc-provider stores for one authorization: the Grant, a code, a refresh token and an access token. */
async function seedGrant(tenant: typeof A | typeof B, accountId: string, grantId = newKey('grant')): Promise<SeededGrant> {
  const clientId = 'web-app';
  await adapter(tenant, 'Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId, clientId, openid: { scope: 'openid' } }, 3600);
  const ids = { AuthorizationCode: newKey('code'), RefreshToken: newKey('rt'), AccessToken: newKey('at') };
  for (const [model, id] of Object.entries(ids)) {
    await adapter(tenant, model).upsert(id, { jti: id, kind: model, grantId, accountId, clientId, scope: 'openid' }, 600);
  }
  return { grantId, ...ids };
}

describe('upsert and find', () => {
  it('round-trips the payload and stores its expiry', async () => {
    const id = newKey('at');
    const payload: AdapterPayload = {
      jti: id,
      kind: 'AccessToken',
      accountId: 'user-1',
      clientId: 'web-app',
      scope: 'openid profile',
      iat: 1_700_000_000,
      exp: 1_700_003_600,
      claims: { userinfo: { email: { essential: true } } },
      extra: { nested: { list: [1, 'two', null, true], unicode: 'Zoë ✓ 東京' } },
      expiresWithSession: false,
    };
    const before = Date.now();
    await adapter(A, 'AccessToken').upsert(id, payload, 60);
    const after = Date.now();

    expect(await adapter(A, 'AccessToken').find(id)).toEqual(payload);
    const stored = await row(A, 'AccessToken', id);
    expect(stored?.payload).toEqual(payload);
    expect(stored?.consumed_at).toBeNull();
    const expiresAt = stored?.expires_at?.getTime() ?? 0;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 60_000);
  });

  it('stores no expiry when oidc-provider gives none', async () => {
    const id = newKey('session');
    await adapter(A, 'Session').upsert(id, { jti: id, kind: 'Session', uid: newKey('uid') }, undefined);
    expect((await row(A, 'Session', id))?.expires_at).toBeNull();
    expect(await adapter(A, 'Session').find(id)).toMatchObject({ jti: id });
  });

  it('overwrites on a second upsert of the same id', async () => {
    const id = newKey('interaction');
    const model = adapter(A, 'Interaction');
    await model.upsert(id, { jti: id, kind: 'Interaction', returnTo: 'https://first.example/' }, 60);
    await model.upsert(id, { jti: id, kind: 'Interaction', returnTo: 'https://second.example/', lastSubmission: { login: { accountId: 'u' } } }, 3600);

    expect(await model.find(id)).toEqual({
      jti: id,
      kind: 'Interaction',
      returnTo: 'https://second.example/',
      lastSubmission: { login: { accountId: 'u' } },
    });
    const rows = await db.selectFrom('oidc_payloads').selectAll().where('tenant_id', '=', A).where('id', '=', id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.expires_at!.getTime()).toBeGreaterThan(Date.now() + 60_000);
  });

  it('finds nothing for an unknown id or for the id under another model', async () => {
    const id = newKey('at');
    await adapter(A, 'AccessToken').upsert(id, { jti: id, kind: 'AccessToken' }, 60);
    expect(await adapter(A, 'AccessToken').find(newKey('unknown'))).toBeUndefined();
    expect(await adapter(A, 'RefreshToken').find(id)).toBeUndefined();
  });
});

describe('expiry', () => {
  it('hides an expired row from find, findByUid and findByUserCode at once', async () => {
    const tokenId = newKey('at');
    const sessionId = newKey('session');
    const uid = newKey('uid');
    const deviceId = newKey('device');
    const userCode = `EXPD-${randomBytes(2).toString('hex').toUpperCase()}`;
    await adapter(A, 'AccessToken').upsert(tokenId, { jti: tokenId, kind: 'AccessToken' }, 60);
    await adapter(A, 'Session').upsert(sessionId, { jti: sessionId, kind: 'Session', uid }, 60);
    await adapter(A, 'DeviceCode').upsert(deviceId, { jti: deviceId, kind: 'DeviceCode', userCode }, 60);
    expect(await adapter(A, 'AccessToken').find(tokenId)).toBeDefined();
    expect(await adapter(A, 'Session').findByUid(uid)).toBeDefined();
    expect(await adapter(A, 'DeviceCode').findByUserCode(userCode)).toBeDefined();

    // Their time runs out (written directly rather than slept through).

    await expire(A, 'AccessToken', tokenId);
    await expire(A, 'Session', sessionId);
    await expire(A, 'DeviceCode', deviceId);

    expect(await adapter(A, 'AccessToken').find(tokenId)).toBeUndefined();
    expect(await adapter(A, 'Session').findByUid(uid)).toBeUndefined();
    expect(await adapter(A, 'DeviceCode').findByUserCode(userCode)).toBeUndefined();
    // Invisible, not yet deleted: purgeExpired does that.
    expect(await row(A, 'AccessToken', tokenId)).toBeDefined();
  });

  it('purgeExpired deletes every expired row in batches and keeps live ones', async () => {
    const expired: [string, string, string][] = [];
    for (const tenant of [A, B] as const) {
      for (let i = 0; i < 3; i++) {
        const id = newKey('code');
        await adapter(tenant, 'AuthorizationCode').upsert(id, { jti: id, kind: 'AuthorizationCode' }, 60);
        await expire(tenant, 'AuthorizationCode', id);
        expired.push([tenant, 'AuthorizationCode', id]);
      }
    }
    const live = newKey('at');
    await adapter(A, 'AccessToken').upsert(live, { jti: live, kind: 'AccessToken' }, 600);
    const forever = newKey('session');
    await adapter(B, 'Session').upsert(forever, { jti: forever, kind: 'Session', uid: newKey('uid') }, undefined);
    const due = await db.selectFrom('oidc_payloads').select((eb) => eb.fn.countAll<string>().as('n')).where('expires_at', '<', sql<Date>`now()`).executeTakeFirstOrThrow();
    expect(Number(due.n)).toBeGreaterThanOrEqual(expired.length);

    // A batch of 2 forces several rounds.
    expect(await purgeExpired(db, 2)).toBe(Number(due.n));

    for (const [tenant, model, id] of expired) expect(await row(tenant, model, id)).toBeUndefined();
    expect(await row(A, 'AccessToken', live)).toBeDefined();
    expect(await row(B, 'Session', forever)).toBeDefined();
    expect(await purgeExpired(db)).toBe(0);
  });
});

describe('findByUid and findByUserCode', () => {
  it('finds a Session by its uid, within its tenant only', async () => {
    const id = newKey('session');
    const uid = newKey('uid');
    const payload: AdapterPayload = { jti: id, kind: 'Session', uid, accountId: 'user-1', loginTs: 1_700_000_000, authorizations: {} };
    await adapter(A, 'Session').upsert(id, payload, 3600);

    expect(await adapter(A, 'Session').findByUid(uid)).toEqual(payload);
    expect(await adapter(A, 'Session').findByUid(newKey('uid'))).toBeUndefined();
    expect(await adapter(B, 'Session').findByUid(uid)).toBeUndefined();
  });

  it('finds a DeviceCode by its user code, within its tenant and model only', async () => {
    const id = newKey('device');
    const userCode = `WDJB-${randomBytes(2).toString('hex').toUpperCase()}`;
    const payload: AdapterPayload = { jti: id, kind: 'DeviceCode', userCode, clientId: 'tv', params: { scope: 'openid' } };
    await adapter(A, 'DeviceCode').upsert(id, payload, 600);

    expect(await adapter(A, 'DeviceCode').findByUserCode(userCode)).toEqual(payload);
    expect(await adapter(A, 'DeviceCode').findByUserCode('NONE-0000')).toBeUndefined();
    expect(await adapter(B, 'DeviceCode').findByUserCode(userCode)).toBeUndefined();
    expect(await adapter(A, 'BackchannelAuthenticationRequest').findByUserCode(userCode)).toBeUndefined();
  });
});

describe('consume', () => {
  it('marks the row consumed and find reports `consumed` in epoch seconds', async () => {
    const grant = await seedGrant(A, 'user-consume');
    const code = adapter(A, 'AuthorizationCode');
    const before = Math.floor(Date.now() / 1000);
    await code.consume(grant.AuthorizationCode);
    const after = Math.ceil(Date.now() / 1000);

    const found = await code.find(grant.AuthorizationCode);
    expect(Number.isInteger(found?.consumed)).toBe(true);
    // The database clock stamps it; allow for a small offset between it and this process.
    expect(found?.consumed).toBeGreaterThanOrEqual(before - 5);
    expect(found?.consumed).toBeLessThanOrEqual(after + 5);
    const stored = await row(A, 'AuthorizationCode', grant.AuthorizationCode);
    expect(stored?.consumed_at).toBeInstanceOf(Date);
    expect(stored?.payload).not.toHaveProperty('consumed');
    // The rest of the grant is untouched by a normal redemption.
    expect(await grantRows(A, grant.grantId)).toEqual(['AccessToken', 'AuthorizationCode', 'Grant', 'RefreshToken']);
  });

  it('treats a second redemption as reuse: invalid_grant and the whole grant revoked', async () => {
    const grant = await seedGrant(A, 'user-reuse');
    const other = await seedGrant(A, 'user-reuse');
    const refresh = adapter(A, 'RefreshToken');
    await refresh.consume(grant.RefreshToken);

    await expect(refresh.consume(grant.RefreshToken)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
    expect(await grantRows(A, grant.grantId)).toEqual([]);
    expect(await grantRows(A, other.grantId)).toHaveLength(4);
    expect(reuses).toEqual([{ tenantId: A, model: 'RefreshToken', grantId: grant.grantId }]);
  });

  for (const model of ['AuthorizationCode', 'RefreshToken'] as const) {
    it(`lets exactly one of two concurrent redemptions of a ${model} win`, async () => {
      for (let round = 0; round < 5; round++) {
        const grant = await seedGrant(A, `user-race-${model}`);
        const bystander = await seedGrant(A, `user-race-${model}`);
        const id = grant[model];

        const outcomes = await Promise.allSettled([new adapters[A](model).consume(id), new otherNodeA(model).consume(id)]);

        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toMatchObject({ error: 'invalid_grant' });
        // The loser revoked the grant: its code, tokens and the Grant are gone; other grants stay.
        expect(await grantRows(A, grant.grantId)).toEqual([]);
        expect(await grantRows(A, bystander.grantId)).toEqual(['AccessToken', 'AuthorizationCode', 'Grant', 'RefreshToken']);
      }
      expect(reuses).toHaveLength(5);
      expect(reuses.every((r) => r.tenantId === A && r.model === model && r.grantId !== undefined)).toBe(true);
    });
  }
});

describe('destroy', () => {
  it('removes exactly one model and id', async () => {
    const id = newKey('shared');
    await adapter(A, 'AccessToken').upsert(id, { jti: id, kind: 'AccessToken' }, 60);
    await adapter(A, 'RefreshToken').upsert(id, { jti: id, kind: 'RefreshToken' }, 60);

    await adapter(A, 'AccessToken').destroy(id);

    expect(await adapter(A, 'AccessToken').find(id)).toBeUndefined();
    expect(await row(A, 'AccessToken', id)).toBeUndefined();
    expect(await adapter(A, 'RefreshToken').find(id)).toMatchObject({ jti: id });
  });

  it('accepts an unknown id', async () => {
    await expect(adapter(A, 'AccessToken').destroy(newKey('unknown'))).resolves.toBeUndefined();
  });
});

describe('revokeByGrantId', () => {
  it('removes every model of the grant and nothing of another grant', async () => {
    const doomed = await seedGrant(A, 'user-revoke');
    const kept = await seedGrant(A, 'user-revoke');
    const sessionId = newKey('session');
    await adapter(A, 'Session').upsert(sessionId, { jti: sessionId, kind: 'Session', uid: newKey('uid'), accountId: 'user-revoke' }, 3600);

    await adapter(A, 'AccessToken').revokeByGrantId(doomed.grantId);

    expect(await grantRows(A, doomed.grantId)).toEqual([]);
    for (const model of ['Grant', 'AuthorizationCode', 'RefreshToken', 'AccessToken'] as const) {
      const id = model === 'Grant' ? doomed.grantId : doomed[model];
      expect(await adapter(A, model).find(id)).toBeUndefined();
    }
    expect(await grantRows(A, kept.grantId)).toEqual(['AccessToken', 'AuthorizationCode', 'Grant', 'RefreshToken']);
    expect(await adapter(A, 'Session').find(sessionId)).toBeDefined();
  });
});

describe('tenant isolation', () => {
  it('never crosses tenants for the same ids', async () => {
    const grantId = newKey('grant');
    const inA = await seedGrant(A, 'same-user', grantId);
    const id = inA.AccessToken;
    // Tenant B holds the very same ids with its own payloads.
    await adapter(B, 'Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId: 'same-user', clientId: 'b-app' }, 3600);
    await adapter(B, 'AccessToken').upsert(id, { jti: id, kind: 'AccessToken', grantId, accountId: 'same-user', clientId: 'b-app' }, 600);
    await adapter(B, 'AuthorizationCode').upsert(inA.AuthorizationCode, { jti: inA.AuthorizationCode, kind: 'AuthorizationCode', grantId, clientId: 'b-app' }, 60);

    expect(await adapter(A, 'AccessToken').find(id)).toMatchObject({ clientId: 'web-app' });
    expect(await adapter(B, 'AccessToken').find(id)).toMatchObject({ clientId: 'b-app' });

    // A consume in A does not mark B's code.
    await adapter(A, 'AuthorizationCode').consume(inA.AuthorizationCode);
    expect((await adapter(B, 'AuthorizationCode').find(inA.AuthorizationCode))?.consumed).toBeUndefined();

    await adapter(A, 'AccessToken').destroy(id);
    expect(await adapter(A, 'AccessToken').find(id)).toBeUndefined();
    expect(await adapter(B, 'AccessToken').find(id)).toMatchObject({ clientId: 'b-app' });

    await adapter(A, 'Grant').revokeByGrantId(grantId);
    expect(await grantRows(A, grantId)).toEqual([]);
    expect(await grantRows(B, grantId)).toEqual(['AccessToken', 'AuthorizationCode', 'Grant']);
  });
});

describe('revokeAccount', () => {
  it('removes the sessions, grants and tokens of one account in one tenant', async () => {
    const account = newKey('user');
    const first = await seedGrant(A, account);
    const second = await seedGrant(A, account);
    const sessionId = newKey('session');
    await adapter(A, 'Session').upsert(sessionId, { jti: sessionId, kind: 'Session', uid: newKey('uid'), accountId: account }, 3600);
    const neighbour = await seedGrant(A, newKey('user'));
    const elsewhere = await seedGrant(B, account);

    // 2 grants × (Grant + code + refresh + access) + 1 session.
    expect(await revokeAccount(db, A, account)).toBe(9);

    expect(await grantRows(A, first.grantId)).toEqual([]);
    expect(await grantRows(A, second.grantId)).toEqual([]);
    expect(await row(A, 'Session', sessionId)).toBeUndefined();
    const left = await db
      .selectFrom('oidc_payloads')
      .select('id')
      .where('tenant_id', '=', A)
      .where(sql<string>`payload->>'accountId'`, '=', account)
      .execute();
    expect(left).toEqual([]);
    expect(await grantRows(A, neighbour.grantId)).toHaveLength(4);
    expect(await grantRows(B, elsewhere.grantId)).toHaveLength(4);
    expect(await revokeAccount(db, A, account)).toBe(0);
  });
});

describe('Client model', () => {
  it('reads clients from the clients table, per tenant', async () => {
    await clients.insert(A, 'portal', { client_name: 'Portal', redirect_uris: ['https://portal.example/cb'] }, 'secret-digest');

    expect(await adapter(A, 'Client').find('portal')).toEqual({
      client_name: 'Portal',
      redirect_uris: ['https://portal.example/cb'],
      client_id: 'portal',
      client_secret: 'secret-digest',
    });
    expect(await adapter(B, 'Client').find('portal')).toBeUndefined();
    expect(await adapter(A, 'Client').find('no-such-client')).toBeUndefined();
  });

  it('refuses to write clients through oidc-provider', async () => {
    await expect(adapter(A, 'Client').upsert('rogue', { client_id: 'rogue' }, undefined)).rejects.toThrow(/admin API/);
    expect(await row(A, 'Client', 'rogue')).toBeUndefined();
    expect(await clients.find(A, 'rogue')).toBeUndefined();
  });
});
