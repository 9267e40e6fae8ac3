/** User management shared by the admin API, the CLI and (later) SCIM and directory sync. */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database, UserRow } from '../db/schema.ts';
import { Conflict, NotFound } from '../lib/errors.ts';
import { isUniqueViolation } from '../lib/errors.ts';
import { newId, isUuid } from '../lib/ids.ts';
import type { IdentityEvents } from './identity-events.ts';
import { hashPassword } from './passwords.ts';
import type { UserRepository } from './user-repository.ts';
import type { CreateUserInput, UpdateUserInput, UserView } from './user-schemas.ts';

export interface ChangeContext {
  /** Who acts, as recorded in the audit trail. */
  readonly actor: string;
  readonly ip?: string | null;
}

export class UserService {
  readonly #db: Kysely<Database>;
  readonly #users: UserRepository;
  readonly #audit: AuditLog;
  readonly #events: IdentityEvents;

  constructor(db: Kysely<Database>, users: UserRepository, audit: AuditLog, events: IdentityEvents) {
    this.#db = db;
    this.#users = users;
    this.#audit = audit;
    this.#events = events;
  }

  async create(tenantId: string, input: CreateUserInput, ctx: ChangeContext, source = 'local'): Promise<UserView> {
    const passwordHash = input.password ? await hashPassword(input.password) : null;
    try {
      const row = await this.#db.transaction().execute(async (trx) => {
        const created = await this.#users.insert(
          tenantId,
          {
            id: newId(),
            username: input.username,
            email: input.email ?? null,
            emailVerified: input.emailVerified ?? false,
            givenName: input.givenName ?? null,
            familyName: input.familyName ?? null,
            active: input.active ?? true,
            passwordHash,
            source,
          },
          trx,
        );
        await this.#audit.recordWith(trx, tenantId, {
          type: 'user.created',
          actor: ctx.actor,
          subject: `user:${created.id}`,
          ip: ctx.ip ?? null,
          details: { username: created.username, source },
        });
        return created;
      });
      return await this.#view(tenantId, row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict('a user with this username or email already exists');
      throw error;
    }
  }

  async get(tenantId: string, id: string): Promise<UserView> {
    const row = isUuid(id) ? await this.#users.findById(tenantId, id) : undefined;
    if (!row) throw new NotFound('no such user');
    return this.#view(tenantId, row);
  }

  async list(tenantId: string, q: { search?: string; cursor?: string; limit: number }): Promise<{ items: UserView[]; next: string | null }> {
    const rows = await this.#users.list(tenantId, { ...q, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    const groups = await this.#users.groupNamesOf(tenantId, page.map((r) => r.id));
    const items = page.map((r) => toView(r, groups.get(r.id) ?? []));
    return { items, next: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
  }

  async update(tenantId: string, id: string, input: UpdateUserInput, ctx: ChangeContext): Promise<UserView> {
    if (!isUuid(id)) throw new NotFound('no such user');
    const passwordHash = input.password ? await hashPassword(input.password) : input.password === null ? null : undefined;
    let deactivated = false;
    try {
      const row = await this.#db.transaction().execute(async (trx) => {
        const before = await this.#users.findById(tenantId, id, trx);
        if (!before) throw new NotFound('no such user');
        const after = await this.#users.update(
          tenantId,
          id,
          {
            username: input.username,
            email: input.email,
            emailVerified: input.emailVerified,
            givenName: input.givenName,
            familyName: input.familyName,
            active: input.active,
            passwordHash,
          },
          trx,
        );
        if (!after) throw new NotFound('no such user');
        deactivated = before.active && !after.active;
        const changed = Object.keys(input).filter((k) => k !== 'password');
        await this.#audit.recordWith(trx, tenantId, {
          type: 'user.updated',
          actor: ctx.actor,
          subject: `user:${id}`,
          ip: ctx.ip ?? null,
          details: { changed, passwordChanged: input.password !== undefined },
        });
        return after;
      });
      if (deactivated) await this.#events.emit({ type: 'user.deactivated', tenantId, userId: id, actor: ctx.actor });
      return await this.#view(tenantId, row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict('a user with this username or email already exists');
      throw error;
    }
  }

  async delete(tenantId: string, id: string, ctx: ChangeContext): Promise<void> {
    if (!isUuid(id)) throw new NotFound('no such user');
    await this.#db.transaction().execute(async (trx) => {
      const deleted = await this.#users.delete(tenantId, id, trx);
      if (!deleted) throw new NotFound('no such user');
      await this.#audit.recordWith(trx, tenantId, {
        type: 'user.deleted',
        actor: ctx.actor,
        subject: `user:${id}`,
        ip: ctx.ip ?? null,
      });
    });
    await this.#events.emit({ type: 'user.deleted', tenantId, userId: id, actor: ctx.actor });
  }

  async #view(tenantId: string, row: UserRow): Promise<UserView> {
    return toView(row, await this.#users.groupNames(tenantId, row.id));
  }
}

function toView(row: UserRow, groups: string[]): UserView {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    emailVerified: row.email_verified,
    givenName: row.given_name,
    familyName: row.family_name,
    active: row.active,
    source: row.source,
    groups,
    hasPassword: row.password_hash !== null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
