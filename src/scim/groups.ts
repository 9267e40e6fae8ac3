/** SCIM Groups: membership of users and nested groups, on top of identity/provisioning-service.ts. */
import type { GroupRow } from '../db/schema.ts';
import type { ProvisioningRepository } from '../identity/provisioning-repository.ts';
import type { ProvisioningContext, ProvisioningService } from '../identity/provisioning-service.ts';
import { isUuid } from '../lib/ids.ts';
import { invalidValue, notFound } from './errors.ts';
import { applyPatch } from './patch/patch-engine.ts';
import { parsePatchRequest } from './patch/patch-request.ts';
import type { ListQuery } from './query/list-query.ts';
import type { ResourceQuery } from './query/resource-query.ts';
import type { ResourceSchema } from './registry/attributes.ts';
import { groupDocument, membersOf, toProvisionedGroup } from './resource/group-mapping.ts';
import { checkRequired, normalizeResource } from './resource/normalize.ts';
import type { Projection } from './resource/projection.ts';
import { renderGroup } from './resource/render.ts';
import { changedAttributes } from './resource/user-mapping.ts';
import type { Doc } from './resource/values.ts';
import type { Rendered } from './users.ts';

const MAX_DISPLAY_NAME = 256;

function withoutMembers(doc: Doc): Doc {
  const { members: _members, ...rest } = doc;
  return rest;
}

export class ScimGroups {
  readonly #schema: ResourceSchema;
  readonly #provisioning: ProvisioningService;
  readonly #repo: ProvisioningRepository;
  readonly #query: ResourceQuery;

  constructor(schema: ResourceSchema, provisioning: ProvisioningService, repo: ProvisioningRepository, query: ResourceQuery) {
    this.#schema = schema;
    this.#provisioning = provisioning;
    this.#repo = repo;
    this.#query = query;
  }

  get schema(): ResourceSchema {
    return this.#schema;
  }

  async get(tenantId: string, id: string, base: string, projection?: Projection): Promise<Rendered> {
    const row = isUuid(id) ? await this.#repo.findGroup(tenantId, id.toLowerCase()) : undefined;
    if (!row) throw notFound(`no group ${id.slice(0, 64)}`);
    return this.#render(tenantId, row, base, projection);
  }

  async list(tenantId: string, q: ListQuery, base: string, projection: Projection): Promise<{ total: number; resources: Doc[] }> {
    const page = await this.#query.groups(tenantId, q, this.#schema);
    const members = projection.wants('members') ? await this.#query.membersOfGroups(tenantId, page.rows.map((r) => r.id)) : undefined;
    return {
      total: page.total,
      resources: page.rows.map((row) => projection.apply(renderGroup(row, members?.get(row.id), base))),
    };
  }

  async create(tenantId: string, body: unknown, base: string, ctx: ProvisioningContext): Promise<Rendered> {
    const doc = this.#incoming(body);
    const row = await this.#provisioning.createGroup(
      tenantId,
      { group: toProvisionedGroup(doc), members: membersOf(doc), changed: changedAttributes({}, withoutMembers(doc)) },
      ctx,
    );
    return this.#render(tenantId, row, base);
  }

  async replace(tenantId: string, id: string, body: unknown, expectedVersion: string | undefined, base: string, ctx: ProvisioningContext): Promise<Rendered> {
    const doc = this.#incoming(body);
    const row = await this.#provisioning.updateGroup(
      tenantId,
      id.toLowerCase(),
      (current) => ({
        group: toProvisionedGroup(doc),
        members: membersOf(doc),
        changed: changedAttributes(withoutMembers(groupDocument(current, undefined)), withoutMembers(doc)),
      }),
      { expectedVersion },
      ctx,
    );
    return this.#render(tenantId, row, base);
  }

  async patch(tenantId: string, id: string, body: unknown, expectedVersion: string | undefined, ctx: ProvisioningContext): Promise<GroupRow> {
    const operations = parsePatchRequest(body);
    return this.#provisioning.updateGroup(
      tenantId,
      id.toLowerCase(),
      (current, members) => {
        const before = groupDocument(current, members);
        const after = applyPatch(before, operations, this.#schema);
        this.#check(after);
        return { group: toProvisionedGroup(after), members: membersOf(after), changed: changedAttributes(withoutMembers(before), withoutMembers(after)) };
      },
      { expectedVersion },
      ctx,
    );
  }

  async delete(tenantId: string, id: string, expectedVersion: string | undefined, ctx: ProvisioningContext): Promise<void> {
    await this.#provisioning.deleteGroup(tenantId, id.toLowerCase(), { expectedVersion }, ctx);
  }

  async render(tenantId: string, row: GroupRow, base: string, projection?: Projection): Promise<Rendered> {
    return this.#render(tenantId, row, base, projection);
  }

  #incoming(body: unknown): Doc {
    const doc = normalizeResource(body, this.#schema);
    checkRequired(doc, this.#schema);
    this.#check(doc);
    return doc;
  }

  #check(doc: Doc): void {
    if (typeof doc.displayName !== 'string' || doc.displayName.trim() === '' || doc.displayName.length > MAX_DISPLAY_NAME) {
      throw invalidValue(`displayName must be 1 to ${MAX_DISPLAY_NAME} characters`);
    }
  }

  async #render(tenantId: string, row: GroupRow, base: string, projection?: Projection): Promise<Rendered> {
    const wantMembers = projection ? projection.wants('members') : true;
    const members = wantMembers ? (await this.#query.membersOfGroups(tenantId, [row.id])).get(row.id) : undefined;
    const resource = renderGroup(row, members, base);
    return { resource: projection ? projection.apply(resource) : resource, version: String(row.version), id: row.id };
  }
}
