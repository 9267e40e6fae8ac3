/**
 * The query of a list: from the URL (GET, RFC 7644 §3.4.2) or a SearchRequest body (POST /.search,
 * §3.4.3). startIndex below 1 counts as 1 and count above maxResults as maxResults (§3.4.2.4); anything
 * that is not an integer, a repeated parameter, or an unknown sortOrder is invalidValue.
 */
import { z } from 'zod';
import { invalidValue } from '../errors.ts';
import { parseFilter } from '../filter/parser.ts';
import type { ListQuery } from '../query/list-query.ts';
import type { ResourceSchema } from '../registry/attributes.ts';
import { URN } from '../registry/urns.ts';
import { projection, type Projection } from '../resource/projection.ts';

/** Resources per page when the client does not say. */
export const DEFAULT_COUNT = 100;

const integer = z.union([z.number().int(), z.string().regex(/^-?\d{1,9}$/).transform(Number)]);
const names = z.union([z.string().max(4096), z.array(z.string().max(256)).max(100).transform((a) => a.join(','))]);
const listSchema = z.object({
  // Long filters are refused by the parser (invalidFilter), which knows the limit; this only bounds memory.
  filter: z.string().max(1 << 20).optional(),
  startIndex: integer.optional(),
  count: integer.optional(),
  sortBy: z.string().max(256).optional(),
  sortOrder: z.string().max(20).optional(),
  attributes: names.optional(),
  excludedAttributes: names.optional(),
});

export interface ListRequest {
  readonly query: ListQuery;
  readonly projection: Projection;
}

/** Query parameter names are case-sensitive in the RFC; clients do send `StartIndex`, so match loosely. */
function canonicalKeys(input: Record<string, unknown>): Record<string, unknown> {
  const known = Object.keys(listSchema.shape);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    const key = known.find((n) => n.toLowerCase() === k.toLowerCase());
    if (!key) continue;
    if (key in out) throw invalidValue(`"${key}" is given twice`);
    out[key] = v;
  }
  return out;
}

export function listRequest(input: Record<string, unknown>, schema: ResourceSchema, maxResults: number): ListRequest {
  const parsed = listSchema.safeParse(canonicalKeys(input));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidValue(`${issue?.path.join('.') ?? 'query'}: ${issue?.message ?? 'invalid'}`);
  }
  const p = parsed.data;
  const order = p.sortOrder?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') throw invalidValue('sortOrder must be ascending or descending');
  return {
    query: {
      filter: p.filter !== undefined ? parseFilter(p.filter) : undefined,
      sortBy: p.sortBy,
      descending: order === 'descending',
      startIndex: Math.max(1, p.startIndex ?? 1),
      count: Math.min(maxResults, Math.max(0, p.count ?? DEFAULT_COUNT)),
    },
    projection: projection(schema, p.attributes, p.excludedAttributes),
  };
}

/** A POST /.search body: a SearchRequest message. */
export function searchRequest(body: unknown, schema: ResourceSchema, maxResults: number): ListRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidValue('the body must be a SearchRequest');
  const { schemas, ...rest } = body as Record<string, unknown>;
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.searchRequest.toLowerCase())) {
    throw invalidValue(`"schemas" must be ["${URN.searchRequest}"]`);
  }
  return listRequest(rest, schema, maxResults);
}

export function listResponse(total: number, startIndex: number, resources: readonly unknown[]): Record<string, unknown> {
  return { schemas: [URN.listResponse], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}
