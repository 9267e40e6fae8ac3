/**
 * Held-back writes of one oidc-provider request (src/oidc/request-writes.ts) on a real PostgreSQL database:
 * nothing reaches the table before the flush, the request reads its own writes, the flush is one atomic
 * statement, a lost claim writes nothing, and a revocation during the request cannot be undone by the flush.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Adapter } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/schema.ts';
import { adapterFor, type AdapterFactory } from '../../src/oidc/adapter.ts';
import { ClientStore } from '../../src/oidc/client-store.ts';
import { flushPendingWrites, PendingWrites, RequestWrites } from '../../src/oidc/request-writes.ts';
import { createMigratedDatabase, insertTenant, type MigratedDatabase } from '../helpers/migrated-database.ts';

const T = 'tenant-w';
const OTHER = 'tenant-x';
let database: MigratedDatabase;
let db: Kysely<Database>;
let writes: RequestWrites;
let adapters: AdapterFactory;
let direct: AdapterFactory;

beforeAll(async () => {
  database = await createMigratedDatabase();
  db = database.db;
  await insertTenant(db, T);
  await insertTenant(db, OTHER);
  writes = new RequestWrites();
  const clients = new ClientStore(db);
  adapters = adapterFor(T, { db, clients, requestWrites: writes });
  direct = adapterFor(T, { db, clients });
});

afterAll(async () => {
  await database?.close();
});

const key = (label: string): string => `${label}-${randomBytes(9).toString('base64url')}`;
const model = (name: string): Adapter => new adapters(name);

async function stored(name: string, id: string): Promise<{ payload: Record<string, unknown>; consumed: boolean } | undefined> {
  const row = await db
    .selectFrom('oidc_payloads')
    .select(['payload', 'consumed_at'])
    .where('tenant_id', '=', T)
    .where('model', '=', name)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && { payload: row.payload, consumed: row.consumed_at !== null };
}

/** Runs `work` as one request would, returning what it held back (not yet flushed). */
async function request(work: () => Promise<void>): Promise<PendingWrites> {
  const pending = new PendingWrites();
  await writes.run(pending, work);
  return pending;
}

describe('held-back request writes', () => {
  it('writes nothing before the flush, lets the request read its own writes, then writes everything at once', async () => {
    const grantId = key('grant');
    const at = key('at');
    const session = key('sess');
    const uid = key('uid');
    const pending = await request(async () => {
      await model('AccessToken').upsert(at, { grantId, accountId: 'u1' }, 60);
      await model('Session').upsert(session, { uid, accountId: 'u1' }, 60);
      expect(await stored('AccessToken', at)).toBeUndefined();
      expect(await model('AccessToken').find(at)).toMatchObject({ grantId, accountId: 'u1' });
      expect(await model('Session').findByUid(uid)).toMatchObject({ uid });
    });
    expect(await stored('AccessToken', at)).toBeUndefined();
    expect(await flushPendingWrites(db, T, pending)).toMatchObject({ claimsWon: true });
    expect(await stored('AccessToken', at)).toMatchObject({ payload: { grantId, accountId: 'u1' }, consumed: false });
    expect(await new direct('Session').findByUid(uid)).toMatchObject({ accountId: 'u1' });
    // A second flush of the same set sends nothing again.
    expect(await flushPendingWrites(db, T, pending)).toMatchObject({ claimsWon: true, claims: [] });
  });

  it('does not let a caller change a held-back payload after handing it over', async () => {
    const id = key('at');
    const payload: Record<string, unknown> = { grantId: 'g', scope: 'openid' };
    const pending = await request(async () => {
      await model('AccessToken').upsert(id, payload, 60);
      payload.scope = 'openid admin';
      const read = await model('AccessToken').find(id);
      (read as Record<string, unknown>).scope = 'tampered';
    });
    await flushPendingWrites(db, T, pending);
    expect((await stored('AccessToken', id))?.payload.scope).toBe('openid');
  });

  it('consumes a claimed refresh token and writes its successors in one statement', async () => {
    const grantId = key('grant');
    const old = key('rt');
    await new direct('RefreshToken').upsert(old, { grantId }, 600);
    const next = key('rt');
    const pending = await request(async () => {
      await model('RefreshToken').consume(old);
      expect(await stored('RefreshToken', old)).toMatchObject({ consumed: false });
      await model('RefreshToken').upsert(next, { grantId }, 600);
    });
    expect(await flushPendingWrites(db, T, pending)).toMatchObject({ claimsWon: true });
    expect(await stored('RefreshToken', old)).toMatchObject({ consumed: true });
    expect(await stored('RefreshToken', next)).toMatchObject({ consumed: false });
  });

  it('writes nothing for the request that loses the race for a refresh token', async () => {
    const grantId = key('grant');
    const old = key('rt');
    await new direct('RefreshToken').upsert(old, { grantId }, 600);
    const [first, second] = [key('rt'), key('rt')];
    // Both requests read the token unconsumed and prepare their answers before either writes.
    const a = await request(async () => {
      await model('RefreshToken').consume(old);
      await model('RefreshToken').upsert(first, { grantId }, 600);
    });
    const b = await request(async () => {
      await model('RefreshToken').consume(old);
      await model('RefreshToken').upsert(second, { grantId }, 600);
      await model('Session').destroy('some-session');
    });
    const results = await Promise.all([flushPendingWrites(db, T, a), flushPendingWrites(db, T, b)]);
    expect(results.map((r) => r.claimsWon).sort()).toEqual([false, true]);
    const loser = results[0].claimsWon ? second : first;
    const winner = results[0].claimsWon ? first : second;
    expect(await stored('RefreshToken', loser)).toBeUndefined();
    expect(await stored('RefreshToken', winner)).toBeDefined();
    const lost = results.find((r) => !r.claimsWon)!;
    expect(lost.claims).toEqual([{ model: 'RefreshToken', id: old }]);
  });

  it('applies a delete held back for a stored row, and a delete of a row written in the same request', async () => {
    const interaction = key('int');
    await new direct('Interaction').upsert(interaction, { uid: 'x' }, 60);
    const transient = key('int');
    const pending = await request(async () => {
      await model('Interaction').destroy(interaction);
      expect(await model('Interaction').find(interaction)).toBeUndefined();
      await model('Interaction').upsert(transient, { uid: 'y' }, 60);
      await model('Interaction').destroy(transient);
    });
    expect(await stored('Interaction', interaction)).toBeDefined();
    await flushPendingWrites(db, T, pending);
    expect(await stored('Interaction', interaction)).toBeUndefined();
    expect(await stored('Interaction', transient)).toBeUndefined();
  });

  it('revokes a grant at once and drops its held-back tokens, so the flush cannot bring them back', async () => {
    const grantId = key('grant');
    const storedAt = key('at');
    await new direct('AccessToken').upsert(storedAt, { grantId }, 600);
    const heldAt = key('at');
    const unrelated = key('at');
    const pending = await request(async () => {
      await model('AccessToken').upsert(heldAt, { grantId }, 600);
      await model('AccessToken').upsert(unrelated, { grantId: key('grant') }, 600);
      await model('AccessToken').revokeByGrantId(grantId);
      expect(await stored('AccessToken', storedAt)).toBeUndefined();
    });
    await flushPendingWrites(db, T, pending);
    expect(await stored('AccessToken', heldAt)).toBeUndefined();
    expect(await stored('AccessToken', unrelated)).toBeDefined();
  });

  it('reads a refresh token and its grant in one statement, and serves the grant from that read', async () => {
    const grantId = key('grant');
    const rt = key('rt');
    await new direct('Grant').upsert(grantId, { accountId: 'u1', openid: { scope: 'openid' } }, 600);
    await new direct('RefreshToken').upsert(rt, { grantId, accountId: 'u1' }, 600);
    await request(async () => {
      expect(await model('RefreshToken').find(rt)).toMatchObject({ grantId });
      // Gone from the table now: the request still sees the grant as it was read with its token.
      await new direct('Grant').destroy(grantId);
      expect(await model('Grant').find(grantId)).toMatchObject({ accountId: 'u1' });
    });
    // Outside a request nothing is kept: the table answers.
    expect(await new direct('Grant').find(grantId)).toBeUndefined();
  });

  it('keeps a grant the request deleted or rewrote, and never brings back an expired or other tenant\'s grant', async () => {
    const grantId = key('grant');
    const rt = key('rt');
    await new direct('Grant').upsert(grantId, { accountId: 'u1' }, 600);
    await new direct('RefreshToken').upsert(rt, { grantId }, 600);
    await request(async () => {
      await model('Grant').destroy(grantId);
      expect(await model('RefreshToken').find(rt)).toMatchObject({ grantId });
      expect(await model('Grant').find(grantId)).toBeUndefined();
    });
    await request(async () => {
      await model('Grant').upsert(grantId, { accountId: 'u2' }, 600);
      await model('RefreshToken').find(rt);
      expect(await model('Grant').find(grantId)).toMatchObject({ accountId: 'u2' });
    });

    const expired = key('grant');
    const rt2 = key('rt');
    await new direct('Grant').upsert(expired, { accountId: 'u1' }, 600);
    await db.updateTable('oidc_payloads').set({ expires_at: new Date(Date.now() - 1000) }).where('tenant_id', '=', T).where('id', '=', expired).execute();
    await new direct('RefreshToken').upsert(rt2, { grantId: expired }, 600);
    const foreign = key('grant');
    const rt3 = key('rt');
    await new (adapterFor(OTHER, { db, clients: new ClientStore(db) }))('Grant').upsert(foreign, { accountId: 'x' }, 600);
    await new direct('RefreshToken').upsert(rt3, { grantId: foreign }, 600);
    await request(async () => {
      expect(await model('RefreshToken').find(rt2)).toMatchObject({ grantId: expired });
      expect(await model('Grant').find(expired)).toBeUndefined();
      expect(await model('RefreshToken').find(rt3)).toMatchObject({ grantId: foreign });
      expect(await model('Grant').find(foreign)).toBeUndefined();
    });
  });

  it('keeps a flush inside its tenant', async () => {
    const id = key('at');
    await new (adapterFor(OTHER, { db, clients: new ClientStore(db) }))('AccessToken').upsert(id, { grantId: 'g' }, 600);
    const pending = await request(async () => {
      await model('AccessToken').destroy(id);
      await model('AccessToken').consume(id);
    });
    await flushPendingWrites(db, T, pending);
    const row = await db.selectFrom('oidc_payloads').select('consumed_at').where('tenant_id', '=', OTHER).where('id', '=', id).executeTakeFirst();
    expect(row).toEqual({ consumed_at: null });
  });

  it('carries payloads with quotes, NUL-free unicode and nested JSON through the one statement unchanged', async () => {
    const id = key('at');
    const payload = { grantId: 'g', extra: { name: `O'Brien "\\ 😀`, nested: [1, { a: null }] } };
    const pending = await request(async () => {
      await model('AccessToken').upsert(id, payload, undefined);
    });
    await flushPendingWrites(db, T, pending);
    expect((await stored('AccessToken', id))?.payload).toEqual(payload);
  });
});
