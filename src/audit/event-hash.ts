/** The hash that links an audit event to the one before it in its chain segment. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json.ts';

export interface HashedFields {
  readonly tenantId: string;
  readonly chainId: string;
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly at: Date;
  readonly actor: string | null;
  readonly subject: string | null;
  readonly ip: string | null;
  readonly details: Record<string, unknown>;
  readonly prevHash: string;
}

export function eventHash(f: HashedFields): string {
  const material = canonicalJson({
    tenant: f.tenantId,
    chain: f.chainId,
    seq: f.seq,
    id: f.id,
    type: f.type,
    at: f.at.toISOString(),
    actor: f.actor,
    subject: f.subject,
    ip: f.ip,
    details: f.details,
    prev: f.prevHash,
  });
  return createHash('sha256').update(material, 'utf8').digest('base64url');
}

/** The prev_hash of a segment's first event: binds the segment to its tenant and id. */
export function genesisHash(tenantId: string, chainId: string): string {
  return createHash('sha256').update(`portcullis-audit-genesis\n${tenantId}\n${chainId}`, 'utf8').digest('base64url');
}
