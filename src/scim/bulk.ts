/**
 * Bulk (RFC 7644 §3.7): operations run one after another, each in its own transaction, through the same
 * services as single requests. `bulkId:…` references (in paths and data, e.g. a new group's members)
 * resolve to the ids made earlier in the same request; an operation whose reference is made by a later
 * operation waits for it (RFC 7644 §3.7.2), and references that can never resolve fail with 409.
 * `failOnErrors` stops the run after that many errors.
 * @see https://www.rfc-editor.org/rfc/rfc7644#section-3.7
 */
import { z } from 'zod';
import type { ProvisioningContext } from '../identity/provisioning-service.ts';
import { invalidSyntax, invalidValue, ScimError, tooLarge } from './errors.ts';
import type { ScimGroups } from './groups.ts';
import { errorBody, toScimError, type ScimErrorBody } from './http/error-body.ts';
import { etagOf } from './resource/render.ts';
import { URN } from './registry/urns.ts';
import type { ScimUsers } from './users.ts';

const operation = z.looseObject({
  method: z.string().regex(/^(post|put|patch|delete)$/i),
  bulkId: z.string().min(1).max(200).optional(),
  version: z.string().max(100).optional(),
  path: z.string().min(1).max(1024),
  data: z.unknown().optional(),
});
const bulkRequest = z.looseObject({
  schemas: z.array(z.string()),
  failOnErrors: z.number().int().min(0).optional(),
  Operations: z.array(z.unknown()),
});
type Operation = z.infer<typeof operation>;

export interface BulkResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: ScimErrorBody;
}

const PATH = /^\/(Users|Groups)(?:\/([^/]+))?$/i;
const REFERENCE = /^bulkId:(.+)$/;

/** Every bulkId an operation refers to, in its path or anywhere in its data. */
function references(op: Operation): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = REFERENCE.exec(v);
      if (m?.[1]) found.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit);
  };
  visit(op.path.split('/').pop());
  visit(op.data);
  return found;
}

function substitute(v: unknown, ids: ReadonlyMap<string, string>): unknown {
  if (typeof v === 'string') {
    const m = REFERENCE.exec(v);
    return m?.[1] !== undefined ? (ids.get(m[1]) ?? v) : v;
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, ids));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, ids)]));
  return v;
}

export class ScimBulk {
  readonly #users: ScimUsers;
  readonly #groups: ScimGroups;
  readonly #maxOperations: number;

  constructor(users: ScimUsers, groups: ScimGroups, maxOperations: number) {
    this.#users = users;
    this.#groups = groups;
    this.#maxOperations = maxOperations;
  }

  async run(tenantId: string, body: unknown, base: string, ctx: ProvisioningContext): Promise<{ schemas: string[]; Operations: BulkResult[] }> {
    const parsed = bulkRequest.safeParse(body);
    if (!parsed.success) throw invalidSyntax('not a BulkRequest');
    if (!parsed.data.schemas.some((s) => s.toLowerCase() === URN.bulkRequest.toLowerCase())) throw invalidValue(`"schemas" must be ["${URN.bulkRequest}"]`);
    if (parsed.data.Operations.length > this.#maxOperations) throw tooLarge(`a bulk request may hold at most ${this.#maxOperations} operations`);
    const operations = parsed.data.Operations.map((raw, i) => {
      const op = operation.safeParse(raw);
      if (!op.success) throw invalidSyntax(`Operations[${i}] is malformed`);
      if (op.data.method.toLowerCase() === 'post' && !op.data.bulkId) throw invalidValue(`Operations[${i}]: POST needs a bulkId`);
      return op.data;
    });
    const bulkIds = operations.flatMap((o) => (o.bulkId ? [o.bulkId] : []));
    if (new Set(bulkIds).size !== bulkIds.length) throw invalidValue('bulkIds must be unique');

    const failOnErrors = parsed.data.failOnErrors ?? Infinity;
    const ids = new Map<string, string>();
    const results = new Map<number, BulkResult>();
    const failedBulkIds = new Set<string>();
    let errors = 0;
    let pending = operations.map((op, index) => ({ op, index }));
    while (pending.length > 0 && errors < failOnErrors) {
      const waiting: typeof pending = [];
      for (const item of pending) {
        if (errors >= failOnErrors) break;
        const refs = [...references(item.op)];
        const unresolved = refs.filter((r) => !ids.has(r));
        const blocked = unresolved.some((r) => failedBulkIds.has(r) || !bulkIds.includes(r));
        const result = blocked
          ? failure(item.op, new ScimError(409, 'invalidValue', `unresolvable bulkId reference: ${unresolved.join(', ').slice(0, 200)}`))
          : unresolved.length > 0
            ? undefined
            : await this.#execute(tenantId, item.op, ids, base, ctx);
        if (!result) {
          waiting.push(item);
          continue;
        }
        results.set(item.index, result);
        if (Number(result.status) >= 400) {
          errors += 1;
          if (item.op.bulkId) failedBulkIds.add(item.op.bulkId);
        }
      }
      if (waiting.length === pending.length) {
        // No progress: what is left refers in a circle.
        for (const item of waiting) {
          results.set(item.index, failure(item.op, new ScimError(409, 'invalidValue', 'circular bulkId references')));
          errors += 1;
        }
        break;
      }
      pending = waiting;
    }
    return { schemas: [URN.bulkResponse], Operations: [...results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r) };
  }

  async #execute(tenantId: string, op: Operation, ids: Map<string, string>, base: string, ctx: ProvisioningContext): Promise<BulkResult> {
    const method = op.method.toUpperCase();
    try {
      const match = PATH.exec(op.path);
      if (!match?.[1]) throw invalidValue(`unknown bulk path ${op.path.slice(0, 100)}`);
      const kind = match[1].toLowerCase() === 'users' ? 'Users' : 'Groups';
      const service = kind === 'Users' ? this.#users : this.#groups;
      const id = match[2] === undefined ? undefined : String(substitute(safeDecode(match[2]), ids));
      const data = substitute(op.data, ids);
      const version = op.version === undefined ? undefined : (/(\d+)"?$/.exec(op.version)?.[1] ?? '-1');
      if (method === 'POST') {
        if (id) throw invalidValue('POST takes a collection path');
        const created = await service.create(tenantId, data, base, ctx);
        if (op.bulkId) ids.set(op.bulkId, created.id);
        return { method, ...(op.bulkId && { bulkId: op.bulkId }), location: `${base}/${kind}/${created.id}`, version: etagOf(created.version), status: '201' };
      }
      if (!id) throw invalidValue(`${method} needs a resource path`);
      if (method === 'DELETE') {
        await service.delete(tenantId, id, version, ctx);
        return { method, ...(op.bulkId && { bulkId: op.bulkId }), location: `${base}/${kind}/${id}`, status: '204' };
      }
      const changed =
        method === 'PUT'
          ? await service.replace(tenantId, id, data, version, base, ctx)
          : kind === 'Users'
            ? await this.#users.patch(tenantId, id, data, version, base, ctx)
            : await this.#groups.patch(tenantId, id, data, version, ctx).then((row) => ({ id: row.id, version: String(row.version) }));
      return { method, ...(op.bulkId && { bulkId: op.bulkId }), location: `${base}/${kind}/${changed.id}`, version: etagOf(changed.version), status: '200' };
    } catch (error) {
      const e = toScimError(error);
      if (e.status >= 500) throw error;
      return failure(op, e);
    }
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidValue('the bulk path is not valid percent-encoding');
  }
}

function failure(op: Operation, e: ScimError): BulkResult {
  return { method: op.method.toUpperCase(), ...(op.bulkId && { bulkId: op.bulkId }), status: String(e.status), response: errorBody(e) };
}
