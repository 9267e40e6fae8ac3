/**
 * Group commit for the held-back writes of oidc-provider requests that claim nothing (request-writes.ts):
 * a client-credentials token, an interaction, a sign-in's session, grant and code. Requests that finish
 * while a batch is being written wait together, and go out as the next batch: one statement and one commit
 * for all of them instead of one each. Each request still waits for its own rows to commit before its
 * response leaves.
 *
 * - One batch in flight per process; the next one gathers meanwhile, so batches grow with load and an idle
 *   node writes at once.
 * - A batch never holds the same row twice (PostgreSQL refuses to change one row twice in a statement): a
 *   request whose rows collide with the gathering batch starts the batch after it, so writes to one row
 *   keep their order.
 * - If a batch fails for anything but an outage, each request's writes are retried on their own, so one bad
 *   row (a payload PostgreSQL refuses) fails only its own request.
 * Requests that claim a code or a refresh token never come here: their claims decide whether anything is
 * written, which needs a statement of their own.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { isDatabaseUnavailable } from '../db/client.ts';
import type { Database } from '../db/schema.ts';

export interface PayloadRow {
  readonly model: string;
  readonly id: string;
  readonly payload: Record<string, unknown>;
  readonly expiresAt: Date | null;
  readonly consumedAt: Date | null;
}

export interface PayloadWrites {
  readonly tenantId: string;
  readonly upserts: readonly PayloadRow[];
  readonly deletes: readonly { readonly model: string; readonly id: string }[];
}

interface Member {
  readonly writes: PayloadWrites;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface Batch {
  readonly members: Member[];
  readonly keys: Set<string>;
  rows: number;
}

/** Rows per statement at most (6 parameters each, far below PostgreSQL's 65,535). */
const MAX_ROWS = 1000;

const keysOf = (w: PayloadWrites): string[] =>
  [...w.upserts, ...w.deletes].map((r) => `${w.tenantId}\u0000${r.model}\u0000${r.id}`);

export class PayloadWriteBatcher {
  readonly #db: Kysely<Database>;
  readonly #waiting: Batch[] = [];
  #inFlight = false;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Resolves once the writes are committed (with those of other requests). */
  write(writes: PayloadWrites): Promise<void> {
    if (writes.upserts.length === 0 && writes.deletes.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#enqueue({ writes, resolve, reject });
      if (!this.#inFlight) void this.#drain();
    });
  }

  #enqueue(member: Member): void {
    const keys = keysOf(member.writes);
    const last = this.#waiting.at(-1);
    const fits = last !== undefined && last.rows + keys.length <= MAX_ROWS && !keys.some((k) => last.keys.has(k));
    const batch = fits ? last : { members: [], keys: new Set<string>(), rows: 0 };
    if (!fits) this.#waiting.push(batch);
    batch.members.push(member);
    batch.rows += keys.length;
    for (const k of keys) batch.keys.add(k);
  }

  async #drain(): Promise<void> {
    this.#inFlight = true;
    try {
      for (let batch = this.#waiting.shift(); batch; batch = this.#waiting.shift()) await this.#send(batch);
    } finally {
      this.#inFlight = false;
    }
  }

  async #send(batch: Batch): Promise<void> {
    try {
      await writePayloads(this.#db, batch.members.map((m) => m.writes));
      for (const m of batch.members) m.resolve();
    } catch (error) {
      if (batch.members.length === 1 || isDatabaseUnavailable(error)) {
        for (const m of batch.members) m.reject(error);
        return;
      }
      // One request's rows may be the cause: each on its own, so the others still commit.
      await Promise.all(
        batch.members.map((m) =>
          writePayloads(this.#db, [m.writes]).then(
            () => m.resolve(),
            (e: unknown) => m.reject(e),
          ),
        ),
      );
    }
  }
}

const list = (rows: readonly RawBuilder<unknown>[]): RawBuilder<unknown> => sql.join(rows, sql`, `);

/**
 * The deletes and upserts of one or more requests (no row twice) as one statement. With `claim`, the rows it
 * names are marked consumed first, and nothing else is written unless every one of them was still unconsumed;
 * the answer says whether it was.
 */
export async function writePayloads(
  db: Kysely<Database>,
  all: readonly PayloadWrites[],
  claim?: { readonly tenantId: string; readonly rows: readonly { readonly model: string; readonly id: string }[] },
): Promise<boolean> {
  const ctes: RawBuilder<unknown>[] = [];
  if (claim && claim.rows.length > 0) {
    ctes.push(sql`claimed as (
      update oidc_payloads p set consumed_at = now()
        from (values ${list(claim.rows.map((c) => sql`(${c.model}::text, ${c.id}::text)`))}) as c(model, id)
       where p.tenant_id = ${claim.tenantId} and p.model = c.model and p.id = c.id and p.consumed_at is null
      returning p.id)`);
    ctes.push(sql`gate as (select count(*) = ${claim.rows.length} as ok from claimed)`);
  } else {
    ctes.push(sql`gate as (select true as ok)`);
  }
  const deletes = all.flatMap((w) => w.deletes.map((d) => sql`(${w.tenantId}::text, ${d.model}::text, ${d.id}::text)`));
  const upserts = all.flatMap((w) =>
    w.upserts.map(
      (u) =>
        sql`(${w.tenantId}::text, ${u.model}::text, ${u.id}::text, ${JSON.stringify(u.payload)}::jsonb, ${u.expiresAt}::timestamptz, ${u.consumedAt}::timestamptz)`,
    ),
  );
  if (deletes.length > 0) {
    ctes.push(sql`removed as (
      delete from oidc_payloads p using (values ${list(deletes)}) as d(tenant_id, model, id)
       where p.tenant_id = d.tenant_id and p.model = d.model and p.id = d.id and (select ok from gate)
      returning 1)`);
  }
  if (upserts.length > 0) {
    ctes.push(sql`written as (
      insert into oidc_payloads (tenant_id, model, id, payload, expires_at, consumed_at)
      select v.* from (values ${list(upserts)}) as v(tenant_id, model, id, payload, expires_at, consumed_at)
       where (select ok from gate)
      on conflict (tenant_id, model, id) do update
        set payload = excluded.payload, expires_at = excluded.expires_at,
            consumed_at = coalesce(oidc_payloads.consumed_at, excluded.consumed_at)
      returning 1)`);
  }
  const result = await sql<{ ok: boolean }>`with ${sql.join(ctes, sql`, `)} select ok from gate`.execute(db);
  return result.rows[0]?.ok === true;
}
