/**
 * SCIM Users: what each endpoint means, on top of the identity core (identity/provisioning-service.ts
 * does every write). Documents are normalised against the registry, PATCH runs on a copy of the stored
 * document, and only the attributes that really changed are written, owned and audited.
 */
import type { Kysely } from 'kysely';
import type { Database, UserRow } from '../db/schema.ts';
import type { ProvisioningRepository } from '../identity/provisioning-repository.ts';
import type { ProvisioningContext, ProvisioningService } from '../identity/provisioning-service.ts';
import { isUuid } from '../lib/ids.ts';
import { invalidValue, notFound } from './errors.ts';
import { applyPatch } from './patch/patch-engine.ts';
import { parsePatchRequest } from './patch/patch-request.ts';
import type { ListQuery } from './query/list-query.ts';
import type { ResourceQuery } from './query/resource-query.ts';
import type { ResourceSchema } from './registry/attributes.ts';
import { URN } from './registry/urns.ts';
import { checkRequired, normalizeResource } from './resource/normalize.ts';
import type { Projection } from './resource/projection.ts';
import { renderUser } from './resource/render.ts';
import { changedAttributes, toProvisionedUser, userDocument } from './resource/user-mapping.ts';
import { isObject, type Doc } from './resource/values.ts';

/** Letters, digits and `. _ @ + -` (as the admin API): no spaces or control characters in sign-in names. */
const USER_NAME = /^[\p{L}\p{N}._@+'-]{1,256}$/u;

export interface Rendered {
  readonly resource: Doc;
  readonly version: string;
  readonly id: string;
}

export class ScimUsers {
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
    const row = isUuid(id) ? await this.#repo.findUser(tenantId, id.toLowerCase()) : undefined;
    if (!row) throw notFound(`no user ${id.slice(0, 64)}`);
    return this.#render(tenantId, row, base, projection);
  }

  async list(tenantId: string, q: ListQuery, base: string, projection: Projection): Promise<{ total: number; resources: Doc[] }> {
    const page = await this.#query.users(tenantId, q, this.#schema);
    const groups = projection.wants('groups') ? await this.#query.groupsOfUsers(tenantId, page.rows.map((r) => r.id)) : undefined;
    return {
      total: page.total,
      resources: page.rows.map((row) => projection.apply(renderUser(row, groups ? (groups.get(row.id) ?? []) : undefined, base))),
    };
  }

  async create(tenantId: string, body: unknown, base: string, ctx: ProvisioningContext): Promise<Rendered> {
    const { doc, password } = this.#incoming(body);
    await this.#checkUser(tenantId, doc, undefined);
    const row = await this.#provisioning.createUser(tenantId, { user: toProvisionedUser(doc), changed: changedAttributes({}, doc), password }, ctx);
    return this.#render(tenantId, row, base);
  }

  async replace(tenantId: string, id: string, body: unknown, expectedVersion: string | undefined, base: string, ctx: ProvisioningContext): Promise<Rendered> {
    const { doc, password } = this.#incoming(body);
    const row = await this.#provisioning.updateUser(
      tenantId,
      id.toLowerCase(),
      async (current, db) => {
        // A PUT without `active` does not reactivate or deactivate anyone.
        const next = doc.active === undefined ? { ...doc, active: current.active } : doc;
        await this.#checkUser(tenantId, next, current.id, db);
        return { user: toProvisionedUser(next), changed: changedAttributes(userDocument(current), next), password };
      },
      { expectedVersion },
      ctx,
    );
    return this.#render(tenantId, row, base);
  }

  async patch(tenantId: string, id: string, body: unknown, expectedVersion: string | undefined, base: string, ctx: ProvisioningContext): Promise<Rendered> {
    const operations = parsePatchRequest(body);
    const row = await this.#provisioning.updateUser(
      tenantId,
      id.toLowerCase(),
      async (current, db) => {
        const before = userDocument(current);
        const { password, ...after } = applyPatch(before, operations, this.#schema);
        await this.#checkUser(tenantId, after, current.id, db);
        return { user: toProvisionedUser(after), changed: changedAttributes(before, after), password: typeof password === 'string' ? password : undefined };
      },
      { expectedVersion },
      ctx,
    );
    return this.#render(tenantId, row, base);
  }

  async delete(tenantId: string, id: string, expectedVersion: string | undefined, ctx: ProvisioningContext): Promise<void> {
    await this.#provisioning.deleteUser(tenantId, id.toLowerCase(), { expectedVersion }, ctx);
  }

  #incoming(body: unknown): { doc: Doc; password: string | undefined } {
    const { password, ...doc } = normalizeResource(body, this.#schema);
    checkRequired(doc, this.#schema);
    return { doc, password: typeof password === 'string' ? password : undefined };
  }

  /** userName a sign-in name; the manager an existing other user of the tenant. */
  async #checkUser(tenantId: string, doc: Doc, selfId: string | undefined, db?: Kysely<Database>): Promise<void> {
    if (typeof doc.userName !== 'string' || !USER_NAME.test(doc.userName)) {
      throw invalidValue('userName may hold letters, digits and . _ @ + \' - only (at most 256)');
    }
    const enterprise = doc[URN.enterprise];
    const manager = isObject(enterprise) && isObject(enterprise.manager) ? enterprise.manager.value : undefined;
    if (manager === undefined) return;
    const id = typeof manager === 'string' ? manager.toLowerCase() : '';
    if (!isUuid(id) || id === selfId || !(await this.#repo.findUser(tenantId, id, db))) {
      throw invalidValue(`manager ${id.slice(0, 64)} is not another user of this tenant`);
    }
    if (isObject(enterprise) && isObject(enterprise.manager)) enterprise.manager.value = id;
  }

  async #render(tenantId: string, row: UserRow, base: string, projection?: Projection): Promise<Rendered> {
    const wantGroups = projection ? projection.wants('groups') : true;
    const groups = wantGroups ? ((await this.#query.groupsOfUsers(tenantId, [row.id])).get(row.id) ?? []) : undefined;
    const resource = renderUser(row, groups, base);
    return { resource: projection ? projection.apply(resource) : resource, version: String(row.version), id: row.id };
  }
}
