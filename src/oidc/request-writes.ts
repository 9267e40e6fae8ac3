/**
 * The writes of one oidc-provider request, held back and committed by one statement before the response
 * leaves.
 *
 * oidc-provider saves each model on its own: a refresh consumes the old refresh token, then saves a new one
 * and an access token; a sign-in's resume saves the session, the grant and the code and deletes the
 * interaction. Sent one by one, each is a round trip and, outside a transaction, a commit with its own WAL
 * flush. Inside a request the adapter (adapter.ts) records them here instead, and `flushPendingWrites`
 * sends them as one statement: the claims (`consume`) first, then the deletes and the upserts, which happen
 * only if every claim was won. One statement is one transaction, so a grant's rows appear together or not
 * at all, and the request's reads see its own pending writes (read-your-writes).
 *
 * Single use stays exact: a claim is `UPDATE … WHERE consumed_at IS NULL`. Of two racing redemptions of one
 * code or refresh token the second waits for the first's row lock, finds the row consumed, claims nothing,
 * and writes nothing; the caller then revokes the grant and answers invalid_grant
 * (test/oidc/refresh-race.security.test.ts).
 *
 * Revocations (`revokeByGrantId`) are never held back: they run at once, and they drop the held-back rows of
 * the grant they end, so a flush cannot bring a revoked grant's tokens back.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { writePayloads, type PayloadWriteBatcher } from './payload-write-batcher.ts';

/** A model's row by (model, id). */
export interface RowKey {
  readonly model: string;
  readonly id: string;
}

interface PendingRow extends RowKey {
  /** The payload as oidc-provider gave it (JSON text is produced at flush). */
  payload: Record<string, unknown>;
  expiresAt: Date | null;
  consumedAt: Date | null;
}

const keyOf = (model: string, id: string): string => `${model}\u0000${id}`;

/** What one request has written so far and not yet sent. */
export class PendingWrites {
  readonly #upserts = new Map<string, PendingRow>();
  readonly #deletes = new Map<string, RowKey>();
  readonly #claims = new Map<string, RowKey>();
  /** Rows this request has read from the database: oidc-provider and our hooks often read one twice. */
  readonly #reads = new Map<string, RowKey & { payload: Record<string, unknown>; consumedAt: Date | null }>();

  upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null): void {
    const key = keyOf(model, id);
    this.#deletes.delete(key);
    const consumedAt = this.#upserts.get(key)?.consumedAt ?? this.#reads.get(key)?.consumedAt ?? null;
    this.#upserts.set(key, { model, id, payload, expiresAt, consumedAt });
  }

  destroy(model: string, id: string): void {
    const key = keyOf(model, id);
    this.#upserts.delete(key);
    this.#reads.delete(key);
    this.#claims.delete(key);
    this.#deletes.set(key, { model, id });
  }

  /** Marks a row consumed: a row written in this request directly, a stored one by a claim at flush. */
  consume(model: string, id: string): void {
    const key = keyOf(model, id);
    const pending = this.#upserts.get(key);
    if (pending) pending.consumedAt ??= new Date();
    else this.#claims.set(key, { model, id });
  }

  /** Keeps a row read from the database for the rest of the request. */
  remember(model: string, id: string, payload: Record<string, unknown>, consumedAt: Date | null): void {
    this.#reads.set(keyOf(model, id), { model, id, payload, consumedAt });
  }

  /** Forgets every held-back row of a grant that has just been revoked. */
  dropGrant(grantId: string): void {
    const ofGrant = (row: RowKey & { payload: Record<string, unknown> }): boolean =>
      row.payload.grantId === grantId || (row.model === 'Grant' && row.id === grantId);
    for (const [key, row] of this.#upserts) if (ofGrant(row)) this.#upserts.delete(key);
    for (const [key, row] of this.#reads) if (ofGrant(row)) this.#reads.delete(key);
  }

  /**
   * What this request's own writes say about a row: `undefined` when they say nothing (read the database),
   * `null` when it was deleted, else the row as written.
   */
  lookup(model: string, id: string): { payload: Record<string, unknown>; consumedAt: Date | null } | null | undefined {
    const key = keyOf(model, id);
    if (this.#deletes.has(key)) return null;
    const row = this.#upserts.get(key) ?? this.#reads.get(key);
    if (row) return { payload: row.payload, consumedAt: row.consumedAt };
    return undefined;
  }

  /** A session written in this request, by its uid. */
  sessionByUid(uid: string): { payload: Record<string, unknown>; consumedAt: Date | null } | undefined {
    for (const row of this.#upserts.values()) if (row.model === 'Session' && row.payload.uid === uid) return row;
    return undefined;
  }

  /** Takes everything out (a second flush sends nothing twice). */
  drain(): { upserts: PendingRow[]; deletes: RowKey[]; claims: RowKey[] } {
    const drained = { upserts: [...this.#upserts.values()], deletes: [...this.#deletes.values()], claims: [...this.#claims.values()] };
    this.#upserts.clear();
    this.#deletes.clear();
    this.#claims.clear();
    return drained;
  }
}

/** The pending writes of the request under way, carried through its async calls. */
export class RequestWrites {
  readonly #current = new AsyncLocalStorage<PendingWrites>();

  current(): PendingWrites | undefined {
    return this.#current.getStore();
  }

  /** Runs `work` with `pending` as the request's writes (the caller flushes them afterwards). */
  run<T>(pending: PendingWrites, work: () => Promise<T>): Promise<T> {
    return this.#current.run(pending, work);
  }
}

export interface FlushResult {
  /** False when another request had consumed a claimed row first: nothing was written. */
  readonly claimsWon: boolean;
  /** The claimed rows (for the caller to revoke their grants when a claim was lost). */
  readonly claims: readonly RowKey[];
}

/**
 * Sends a request's pending writes as one statement (see the module comment); with a batcher, writes that
 * claim nothing share their statement with other requests' (payload-write-batcher.ts).
 */
export async function flushPendingWrites(
  db: Kysely<Database>,
  tenantId: string,
  pending: PendingWrites,
  batcher?: PayloadWriteBatcher,
): Promise<FlushResult> {
  const { upserts, deletes, claims } = pending.drain();
  if (upserts.length === 0 && deletes.length === 0 && claims.length === 0) return { claimsWon: true, claims };
  if (claims.length === 0 && batcher) {
    // Nothing to claim: the writes can share a statement and a commit with other requests'.
    await batcher.write({ tenantId, upserts, deletes });
    return { claimsWon: true, claims };
  }

  const claimsWon = await writePayloads(db, [{ tenantId, upserts, deletes }], { tenantId, rows: claims });
  return { claimsWon, claims };
}
