/** The PatchOp message (RFC 7644 §3.5.2), checked with zod at the edge. */
import { z } from 'zod';
import { invalidSyntax, invalidValue } from '../errors.ts';
import { URN } from '../registry/urns.ts';
import type { PatchOperation } from './patch-engine.ts';

/** Operations in one PATCH at most. */
export const MAX_PATCH_OPERATIONS = 1000;

const operation = z.looseObject({ op: z.string().min(1).max(20), path: z.string().max(1024).optional(), value: z.unknown().optional() });
const patchRequest = z.looseObject({ schemas: z.array(z.string()).min(1), Operations: z.array(operation).min(1).max(MAX_PATCH_OPERATIONS) });

export function parsePatchRequest(body: unknown): PatchOperation[] {
  // Some clients spell the key "operations"; the RFC spells it "Operations".
  const b = typeof body === 'object' && body !== null && !('Operations' in body) && 'operations' in body ? { ...body, Operations: (body).operations } : body;
  const parsed = patchRequest.safeParse(b);
  if (!parsed.success) throw invalidSyntax(`not a PatchOp request: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  if (!parsed.data.schemas.some((s) => s.toLowerCase() === URN.patchOp.toLowerCase())) throw invalidValue(`"schemas" must be ["${URN.patchOp}"]`);
  return parsed.data.Operations.map((o) => ({ op: o.op, path: o.path, value: o.value }));
}
