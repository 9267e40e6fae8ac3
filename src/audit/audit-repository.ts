/** Reading the audit trail: listing with filters and a keyset cursor, and chain verification. */
import type { Kysely } from 'kysely';
import type { AuditEventRow, Database } from '../db/schema.ts';
import { eventHash, genesisHash } from './event-hash.ts';

export interface AuditEvent {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly actor: string | null;
  readonly subject: string | null;
  readonly ip: string | null;
  readonly details: Record<string, unknown>;
}

export interface AuditQuery {
  readonly type?: string;
  readonly subject?: string;
  readonly since?: Date;
  /** The id of the last event of the previous page (ids are time-ordered UUIDv7). */
  readonly cursor?: string;
  readonly limit: number;
}

export interface ChainProblem {
  readonly chainId: string;
  readonly seq: number | null;
  readonly reason: 'hash_mismatch' | 'broken_link' | 'sequence_gap' | 'head_mismatch' | 'segment_missing';
}

export interface VerificationReport {
  readonly ok: boolean;
  readonly segments: number;
  readonly events: number;
  readonly problems: ChainProblem[];
}

const VERIFY_PAGE = 5000;

export class AuditRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Newest first. */
  async list(tenantId: string, q: AuditQuery): Promise<{ items: AuditEvent[]; next: string | null }> {
    let query = this.#db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId);
    if (q.type) query = query.where('type', '=', q.type);
    if (q.subject) query = query.where('subject', '=', q.subject);
    if (q.since) query = query.where('at', '>=', q.since);
    if (q.cursor) query = query.where('id', '<', q.cursor);
    const rows = await query.orderBy('id', 'desc').limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit).map(toEvent);
    return { items: page, next: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
  }

  /**
   * Recomputes every event's hash and link, segment by segment, and checks each segment's stored head,
   * so a changed, removed or inserted row (or a truncated tail) is reported.
   */
  async verify(tenantId: string): Promise<VerificationReport> {
    const problems: ChainProblem[] = [];
    let events = 0;
    const chains = await this.#db
      .selectFrom('audit_chains')
      .select(['chain_id', 'head_seq', 'head_hash'])
      .where('tenant_id', '=', tenantId)
      .execute();
    const known = new Set(chains.map((c) => c.chain_id));
    const orphans = await this.#db
      .selectFrom('audit_events')
      .select('chain_id')
      .distinct()
      .where('tenant_id', '=', tenantId)
      .execute();
    for (const o of orphans) {
      if (!known.has(o.chain_id)) problems.push({ chainId: o.chain_id, seq: null, reason: 'segment_missing' });
    }
    for (const chain of chains) {
      let prev = genesisHash(tenantId, chain.chain_id);
      let expectedSeq = 1;
      for (;;) {
        const rows = await this.#db
          .selectFrom('audit_events')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('chain_id', '=', chain.chain_id)
          .where('seq', '>=', String(expectedSeq))
          .orderBy('seq')
          .limit(VERIFY_PAGE)
          .execute();
        for (const row of rows) {
          const seq = Number(row.seq);
          if (seq !== expectedSeq) problems.push({ chainId: chain.chain_id, seq: expectedSeq, reason: 'sequence_gap' });
          if (row.prev_hash !== prev) problems.push({ chainId: chain.chain_id, seq, reason: 'broken_link' });
          if (recompute(row) !== row.hash) problems.push({ chainId: chain.chain_id, seq, reason: 'hash_mismatch' });
          prev = row.hash;
          expectedSeq = seq + 1;
          events += 1;
        }
        if (rows.length < VERIFY_PAGE) break;
      }
      if (Number(chain.head_seq) !== expectedSeq - 1 || chain.head_hash !== prev) {
        problems.push({ chainId: chain.chain_id, seq: Number(chain.head_seq), reason: 'head_mismatch' });
      }
    }
    return { ok: problems.length === 0, segments: chains.length, events, problems };
  }
}

function recompute(row: AuditEventRow): string {
  return eventHash({
    tenantId: row.tenant_id,
    chainId: row.chain_id,
    seq: Number(row.seq),
    id: row.id,
    type: row.type,
    at: row.at,
    actor: row.actor,
    subject: row.subject,
    ip: row.ip,
    details: row.details,
    prevHash: row.prev_hash,
  });
}

function toEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    type: row.type,
    at: row.at.toISOString(),
    actor: row.actor,
    subject: row.subject,
    ip: row.ip,
    details: row.details,
  };
}
