/**
 * The append side of the hash-chained audit trail (scheme: src/audit/README.md).
 *
 * `record()` is the high-volume path: events join an in-process queue, and one flush at a time writes
 * everything queued as one transaction (group commit) onto this writer's own chain segment per tenant.
 * The promise resolves once the batch is committed, so an acknowledged event is durable, yet writers
 * never wait on each other's row locks.
 *
 * `recordWith(trx, …)` writes inside the caller's transaction onto the tenant's shared transactional
 * segment (its head row locked FOR UPDATE), for changes whose audit event must commit or roll back
 * with them (admin changes). Those are rare, so the lock is cheap.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { asCtes, mergeWrites, overlaps, standalone, type CombinedWrite } from '../db/combined-writes.ts';
import type { Database } from '../db/schema.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { eventHash, genesisHash } from './event-hash.ts';
import type { AuditEventInput } from './events.ts';

/**
 * Segment ids of every tenant's transactional chains (unique per tenant: the key leads with tenant_id).
 * Several slots let concurrent transactions of one tenant append without queueing on one head row.
 */
export const TRANSACTIONAL_CHAIN_IDS: readonly string[] = Array.from(
  { length: 8 },
  (_, i) => `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
);
export const TRANSACTIONAL_CHAIN_ID = TRANSACTIONAL_CHAIN_IDS[0] ?? '';

/** Rows per INSERT statement: 11 parameters each stays far below PostgreSQL's 65,535 limit. */
const ROWS_PER_STATEMENT = 2000;
/** Events taken into one transaction at most. */
const MAX_BATCH = 10_000;
/** Carried writes in one statement at most (each brings a few dozen parameters). */
const MAX_CARRIED = 64;

interface Pending {
  readonly tenantId: string;
  readonly event: AuditEventInput;
  readonly at: Date;
  /** Rows to write with the event, in the batch's statement (`record`). */
  readonly carried?: CombinedWrite;
  resolve(): void;
  reject(error: unknown): void;
}

interface ChainHead {
  readonly tenantId: string;
  readonly chainId: string;
  seq: number;
  hash: string;
  /** False until the segment's row is committed. */
  persisted: boolean;
}

interface AuditRowValues {
  tenant_id: string;
  id: string;
  chain_id: string;
  seq: number;
  type: string;
  at: Date;
  actor: string | null;
  subject: string | null;
  ip: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditLogOptions {
  /** Names this process in the audit_chains table (host, pid). */
  readonly writer?: string;
}

export class AuditLog {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #writer: string;
  readonly #heads = new Map<string, ChainHead>();
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(db: Kysely<Database>, clock: Clock, options: AuditLogOptions = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#writer = options.writer ?? `pid-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  /**
   * Appends an event; resolves when it is committed. `carried`: rows to write in the same statement as the
   * batch holding the event (src/db/combined-writes.ts), so that they cost no round trip or commit of their
   * own; the promise resolves once both are committed. Should PostgreSQL refuse the batch's statement, the
   * events are written again without what they carried, and each carried write on its own: a write refused
   * on its own fails only its own caller's promise (its event is written all the same, as it would have been
   * beside a separate write).
   */
  record(tenantId: string, event: AuditEventInput, carried?: CombinedWrite): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('audit log is closed'));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ tenantId, event, at: this.#clock.now(), ...(carried ? { carried } : {}), resolve, reject });
      // From a microtask: events recorded in the same turn (a sign-in's success and its assessment) go out in
      // one batch even when the log is idle.
      this.#flushing ??= Promise.resolve().then(() => this.#flushLoop());
    });
  }

  /**
   * Appends an event inside `trx`: it commits or rolls back with the caller's change. The event goes onto
   * one of the tenant's transactional segments whose head no other transaction holds (SKIP LOCKED), so
   * concurrent changes of one tenant wait on each other only when every slot is busy.
   */
  async recordWith(trx: Transaction<Database>, tenantId: string, event: AuditEventInput): Promise<void> {
    let head = await this.#lockFreeSlot(trx, tenantId);
    if (!head) {
      await trx
        .insertInto('audit_chains')
        .values(
          TRANSACTIONAL_CHAIN_IDS.map((chainId) => ({
            tenant_id: tenantId,
            chain_id: chainId,
            writer: 'transactional',
            head_seq: 0,
            head_hash: genesisHash(tenantId, chainId),
          })),
        )
        .onConflict((oc) => oc.columns(['tenant_id', 'chain_id']).doNothing())
        .execute();
      head = (await this.#lockFreeSlot(trx, tenantId)) ?? (await this.#waitForSlot(trx, tenantId));
    }
    const row = this.#row(tenantId, head.chain_id, Number(head.head_seq) + 1, head.head_hash, event, this.#clock.now());
    await trx.insertInto('audit_events').values(row).execute();
    await trx
      .updateTable('audit_chains')
      .set({ head_seq: row.seq, head_hash: row.hash })
      .where('tenant_id', '=', tenantId)
      .where('chain_id', '=', head.chain_id)
      .execute();
  }

  #lockFreeSlot(trx: Transaction<Database>, tenantId: string) {
    return trx
      .selectFrom('audit_chains')
      .select(['chain_id', 'head_seq', 'head_hash'])
      .where('tenant_id', '=', tenantId)
      .where('chain_id', 'in', TRANSACTIONAL_CHAIN_IDS)
      .limit(1)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
  }

  /** Every slot is held by another transaction: queue on one of them. */
  #waitForSlot(trx: Transaction<Database>, tenantId: string) {
    const chainId = TRANSACTIONAL_CHAIN_IDS[Math.floor(Math.random() * TRANSACTIONAL_CHAIN_IDS.length)] ?? TRANSACTIONAL_CHAIN_ID;
    return trx
      .selectFrom('audit_chains')
      .select(['chain_id', 'head_seq', 'head_hash'])
      .where('tenant_id', '=', tenantId)
      .where('chain_id', '=', chainId)
      .forUpdate()
      .executeTakeFirstOrThrow();
  }

  /** Waits for everything queued so far to be written; later records are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#flush(this.#nextBatch());
    } finally {
      this.#flushing = undefined;
    }
  }

  /**
   * The next batch, in queue order: at most MAX_BATCH events, and carried writes that touch no row another
   * carried write of the batch touches (one statement cannot change a row twice); the others wait, in order,
   * for the next batch.
   */
  #nextBatch(): Pending[] {
    const batch: Pending[] = [];
    const waiting: Pending[] = [];
    const keys = new Set<string>();
    let carried = 0;
    for (const p of this.#queue) {
      const write = p.carried;
      if (batch.length >= MAX_BATCH || (write && (carried >= MAX_CARRIED || overlaps(keys, write)))) {
        waiting.push(p);
        continue;
      }
      if (write) {
        carried++;
        for (const key of write.keys) keys.add(key);
      }
      batch.push(p);
    }
    this.#queue = waiting;
    return batch;
  }

  async #flush(batch: Pending[]): Promise<void> {
    // Hash against working copies of the heads; the real heads move only after the commit.
    const working = new Map<string, ChainHead>();
    const rows: AuditRowValues[] = [];
    for (const p of batch) {
      let head = working.get(p.tenantId);
      if (!head) {
        const committed = this.#heads.get(p.tenantId);
        head = committed ? { ...committed } : this.#newHead(p.tenantId);
        working.set(p.tenantId, head);
      }
      const row = this.#row(p.tenantId, head.chainId, head.seq + 1, head.hash, p.event, p.at);
      head.seq = row.seq;
      head.hash = row.hash;
      rows.push(row);
    }
    // A busy batch carries several sign-ins' writes of one kind as one write: the statement text stays the same.
    const carried = mergeWrites(batch.flatMap((p) => (p.carried ? [p.carried] : [])));
    try {
      const fresh = [...working].filter(([, h]) => !h.persisted);
      if (fresh.length === 0 && rows.length <= ROWS_PER_STATEMENT) {
        // The usual batch: its rows, its chains' new heads and the writes it carries in one statement (one
        // round trip, one commit).
        await this.#db.executeQuery(appendStatement(rows, [...working.values()], carried));
      } else await this.#db.transaction().execute(async (trx) => {
        if (fresh.length > 0) {
          await trx
            .insertInto('audit_chains')
            .values(
              fresh.map(([tenantId, h]) => ({
                tenant_id: tenantId,
                chain_id: h.chainId,
                writer: this.#writer,
                head_seq: 0,
                head_hash: genesisHash(tenantId, h.chainId),
              })),
            )
            .execute();
        }
        for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
          await trx.insertInto('audit_events').values(rows.slice(i, i + ROWS_PER_STATEMENT)).execute();
        }
        for (const [tenantId, h] of working) {
          await trx
            .updateTable('audit_chains')
            .set({ head_seq: h.seq, head_hash: h.hash })
            .where('tenant_id', '=', tenantId)
            .where('chain_id', '=', h.chainId)
            .execute();
        }
        for (const write of carried) await trx.executeQuery(standalone(write));
      });
    } catch (error) {
      // Whether the commit happened is unknown (the connection may have dropped after it). Either way
      // the next batch of these tenants starts a new segment, so no sequence number is ever reused.
      for (const tenantId of working.keys()) this.#heads.delete(tenantId);
      if (carried.length > 0 && refusedByDatabase(error)) {
        // PostgreSQL refused the statement, so nothing of it was written: one carried write it refused (a row
        // deleted meanwhile, say) must not cost the other events theirs. The events go again on their own,
        // and each carried write in a statement of its own; each caller hears of its own event and write.
        await this.#retryApart(batch);
        return;
      }
      for (const p of batch) p.reject(error);
      return;
    }
    for (const [tenantId, h] of working) this.#heads.set(tenantId, { ...h, persisted: true });
    for (const p of batch) p.resolve();
  }

  /** A refused batch again: the events without what they carried, then each carried write on its own. */
  async #retryApart(batch: readonly Pending[]): Promise<void> {
    const apart = batch.map((p) => {
      const outcome: { error?: unknown } = {};
      const alone: Pending = {
        tenantId: p.tenantId,
        event: p.event,
        at: p.at,
        resolve: () => undefined,
        reject: (error: unknown) => {
          outcome.error = error ?? new Error('audit event not written');
        },
      };
      return { p, alone, outcome };
    });
    await this.#flush(apart.map((a) => a.alone));
    await Promise.all(
      apart.map(async ({ p, outcome }) => {
        if (outcome.error !== undefined) return p.reject(outcome.error);
        try {
          if (p.carried) await this.#db.executeQuery(standalone(p.carried));
          p.resolve();
        } catch (error) {
          p.reject(error);
        }
      }),
    );
  }

  #newHead(tenantId: string): ChainHead {
    const chainId = newId();
    return { tenantId, chainId, seq: 0, hash: genesisHash(tenantId, chainId), persisted: false };
  }

  #row(
    tenantId: string,
    chainId: string,
    seq: number,
    prevHash: string,
    event: AuditEventInput,
    at: Date,
  ): AuditRowValues {
    // What jsonb will hand back: undefined dropped, Dates as strings. The hash must cover exactly that.
    const details = JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>;
    const id = newId();
    const fields = {
      tenantId,
      chainId,
      seq,
      id,
      type: event.type,
      at,
      actor: event.actor ?? null,
      subject: event.subject ?? null,
      ip: event.ip ?? null,
      details,
      prevHash,
    };
    const hash = eventHash(fields);
    return {
      tenant_id: tenantId,
      id,
      chain_id: chainId,
      seq,
      type: fields.type,
      at,
      actor: fields.actor,
      subject: fields.subject,
      ip: fields.ip,
      details: JSON.stringify(details),
      prev_hash: prevHash,
      hash,
    };
  }
}

/**
 * The usual batch as one fixed statement text (one per set of carried statement kinds: array-shaped writes
 * of one kind are merged), the rows and heads as arrays: its chains' new heads, the writes it carries, and
 * its rows.
 */
function appendStatement(rows: readonly AuditRowValues[], heads: readonly ChainHead[], carried: readonly CombinedWrite[]): CompiledQuery {
  const parameters: unknown[] = [
    heads.map((h) => h.tenantId),
    heads.map((h) => h.chainId),
    heads.map((h) => h.seq),
    heads.map((h) => h.hash),
    rows.map((r) => r.tenant_id),
    rows.map((r) => r.id),
    rows.map((r) => r.chain_id),
    rows.map((r) => r.seq),
    rows.map((r) => r.type),
    // ISO strings: pg's own Date formatting costs several times more, per element.
    rows.map((r) => r.at.toISOString()),
    rows.map((r) => r.actor),
    rows.map((r) => r.subject),
    rows.map((r) => r.ip),
    rows.map((r) => r.details),
    rows.map((r) => r.prev_hash),
    rows.map((r) => r.hash),
  ];
  const writes = asCtes(carried, parameters.length, 'carried');
  const text = `with heads as (
  update audit_chains c set head_seq = h.seq, head_hash = h.hash
    from unnest($1::text[], $2::uuid[], $3::bigint[], $4::text[]) as h(tenant_id, chain_id, seq, hash)
   where c.tenant_id = h.tenant_id and c.chain_id = h.chain_id
  returning c.chain_id
)${writes.ctes.map((cte) => `,\n${cte}`).join('')}
insert into audit_events (tenant_id, id, chain_id, seq, type, at, actor, subject, ip, details, prev_hash, hash)
select * from unnest($5::text[], $6::uuid[], $7::uuid[], $8::bigint[], $9::text[], $10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::jsonb[], $15::text[], $16::text[])`;
  return CompiledQuery.raw(text, [...parameters, ...writes.parameters]);
}

/** An error PostgreSQL answered with (an SQLSTATE): the statement was refused, and nothing of it is written. */
function refusedByDatabase(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && /^[0-9A-Z]{5}$/.test(error.code);
}
