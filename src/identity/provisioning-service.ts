/**
 * Provisioned users and groups: the writes SCIM (and directory sync) make, in one place, so that every
 * source goes through the same rules. Each change commits together with its audit event; a user who
 * becomes inactive or is deleted raises `user.deactivated` / `user.deleted` once the change committed,
 * and the promise resolves only after the listeners (session and token revocation) have run.
 *
 * An update locks the row (SELECT … FOR UPDATE), so concurrent writers queue rather than recompute; the
 * If-Match check and the version bump happen under that lock, the bump in the same UPDATE that checks
 * the version read. Everything a computation reads runs on the same transaction (no second connection
 * is ever needed while a lock is held, so a full pool cannot deadlock).
 */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database, GroupRow, UserRow } from '../db/schema.ts';
import { Conflict, NotFound, isUniqueViolation } from '../lib/errors.ts';
import { newId, isUuid } from '../lib/ids.ts';
import { conflictsFor, kindOf, type AttributePrecedenceStore } from './attribute-precedence.ts';
import type { IdentityEvents } from './identity-events.ts';
import { hashPassword } from './passwords.ts';
import { AttributeConflict, UnknownMember, VersionMismatch } from './provisioning-errors.ts';
import type { MemberKind, MemberRef, ProvisionedGroup, ProvisionedUser, ProvisioningRepository } from './provisioning-repository.ts';

export interface ProvisioningContext {
  /** Who acts, as recorded in the audit trail (`scim:{tokenId}`, `scim-client:{clientId}`). */
  readonly actor: string;
  /** The source kind that writes (`scim`, `directory:{id}`): users it creates carry it. */
  readonly source: string;
  readonly ip?: string | null;
}

export interface UserChange {
  readonly user: ProvisionedUser;
  /** Names of the attributes that differ from the stored user (for ownership and the audit trail). */
  readonly changed: readonly string[];
  /** A new cleartext password (hashed here, never stored or logged as given). */
  readonly password?: string | undefined;
}

export interface GroupChange {
  readonly group: ProvisionedGroup;
  readonly changed: readonly string[];
  /** The complete new member list, or undefined to leave the members alone. */
  readonly members?: readonly MemberInput[] | undefined;
}

export interface MemberInput {
  readonly id: string;
  readonly kind?: MemberKind | undefined;
}

/** Member ids listed in one audit event at most. */
const AUDITED_MEMBERS = 100;

export class ProvisioningService {
  readonly #db: Kysely<Database>;
  readonly #repo: ProvisioningRepository;
  readonly #precedence: AttributePrecedenceStore;
  readonly #audit: AuditLog;
  readonly #events: IdentityEvents;

  constructor(db: Kysely<Database>, repo: ProvisioningRepository, precedence: AttributePrecedenceStore, audit: AuditLog, events: IdentityEvents) {
    this.#db = db;
    this.#repo = repo;
    this.#precedence = precedence;
    this.#audit = audit;
    this.#events = events;
  }

  async createUser(tenantId: string, change: UserChange, ctx: ProvisioningContext): Promise<UserRow> {
    const passwordHash = change.password ? await hashPassword(change.password) : null;
    const kind = kindOf(ctx.source);
    try {
      return await this.#db.transaction().execute(async (trx) => {
        const row = await this.#repo.insertUser(trx, tenantId, {
          id: newId(),
          user: change.user,
          source: ctx.source,
          passwordHash,
          owners: Object.fromEntries(change.changed.map((a) => [a, kind])),
        });
        await this.#audit.recordWith(trx, tenantId, {
          type: 'user.created',
          actor: ctx.actor,
          subject: `user:${row.id}`,
          ip: ctx.ip ?? null,
          details: { username: row.username, source: ctx.source, attributes: change.changed, passwordSet: passwordHash !== null },
        });
        return row;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict('a user with this userName or email already exists', { cause: error });
      throw error;
    }
  }

  async updateUser(
    tenantId: string,
    id: string,
    compute: (row: UserRow, db: Kysely<Database>) => UserChange | Promise<UserChange>,
    options: { expectedVersion?: string | undefined },
    ctx: ProvisioningContext,
  ): Promise<UserRow> {
    if (!isUuid(id)) throw new NotFound('no such user');
    try {
      const { before, after } = await this.#db.transaction().execute(async (trx) => {
        const row = await this.#repo.lockUser(trx, tenantId, id);
        if (!row) throw new NotFound('no such user');
        if (options.expectedVersion !== undefined && String(row.version) !== options.expectedVersion) throw new VersionMismatch();
        const change = await compute(row, trx);
        if (change.changed.length === 0 && change.password === undefined) return { before: row, after: row };
        await this.#checkOwnership(trx, tenantId, change.changed, row.attribute_sources, row.source, ctx);
        const owners = { ...row.attribute_sources, ...Object.fromEntries(change.changed.map((a) => [a, kindOf(ctx.source)])) };
        const passwordHash = change.password !== undefined ? await hashPassword(change.password) : undefined;
        // The row is locked, so the version cannot have moved; the check stays as the statement's guarantee.
        const updated = await this.#repo.updateUser(trx, tenantId, id, String(row.version), { user: change.user, passwordHash, owners });
        if (!updated) throw new VersionMismatch();
        await this.#audit.recordWith(trx, tenantId, {
          type: 'user.updated',
          actor: ctx.actor,
          subject: `user:${id}`,
          ip: ctx.ip ?? null,
          details: { changed: change.changed, source: ctx.source, passwordChanged: passwordHash !== undefined },
        });
        return { before: row, after: updated };
      });
      if (before.active && !after.active) await this.#events.emit({ type: 'user.deactivated', tenantId, userId: id, actor: ctx.actor });
      return after;
    } catch (error) {
      await this.#reportConflict(error, tenantId, `user:${id}`, ctx);
      if (isUniqueViolation(error)) throw new Conflict('a user with this userName or email already exists', { cause: error });
      throw error;
    }
  }

  async deleteUser(tenantId: string, id: string, options: { expectedVersion?: string | undefined }, ctx: ProvisioningContext): Promise<void> {
    if (!isUuid(id)) throw new NotFound('no such user');
    const before = await this.#repo.findUser(tenantId, id);
    if (!before) throw new NotFound('no such user');
    if (options.expectedVersion !== undefined && String(before.version) !== options.expectedVersion) throw new VersionMismatch();
    // The record as a whole belongs to the source that created it.
    try {
      await this.#checkOwnership(this.#db, tenantId, ['id'], {}, before.source, ctx);
    } catch (error) {
      await this.#reportConflict(error, tenantId, `user:${id}`, ctx);
      throw error;
    }
    await this.#db.transaction().execute(async (trx) => {
      if (!(await this.#repo.deleteUser(trx, tenantId, id, options.expectedVersion))) {
        throw options.expectedVersion !== undefined ? new VersionMismatch() : new NotFound('no such user');
      }
      await this.#audit.recordWith(trx, tenantId, {
        type: 'user.deleted',
        actor: ctx.actor,
        subject: `user:${id}`,
        ip: ctx.ip ?? null,
        details: { username: before.username, source: ctx.source },
      });
    });
    await this.#events.emit({ type: 'user.deleted', tenantId, userId: id, actor: ctx.actor });
  }

  async createGroup(tenantId: string, change: GroupChange, ctx: ProvisioningContext): Promise<GroupRow> {
    const id = newId();
    const members = await this.#resolve(this.#db, tenantId, id, change.members ?? []);
    try {
      return await this.#db.transaction().execute(async (trx) => {
        const row = await this.#repo.insertGroup(trx, tenantId, { id, group: change.group, source: ctx.source });
        await this.#repo.addMembers(trx, tenantId, id, members);
        await this.#audit.recordWith(trx, tenantId, {
          type: 'group.created',
          actor: ctx.actor,
          subject: `group:${id}`,
          ip: ctx.ip ?? null,
          details: { name: row.name, source: ctx.source, attributes: change.changed, membersAdded: audited(members) },
        });
        return row;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict('a group with this displayName already exists', { cause: error });
      throw error;
    }
  }

  async updateGroup(
    tenantId: string,
    id: string,
    compute: (row: GroupRow, members: readonly MemberRef[], db: Kysely<Database>) => GroupChange | Promise<GroupChange>,
    options: { expectedVersion?: string | undefined },
    ctx: ProvisioningContext,
  ): Promise<GroupRow> {
    if (!isUuid(id)) throw new NotFound('no such group');
    try {
      return await this.#db.transaction().execute(async (trx) => {
        const before = await this.#repo.lockGroup(trx, tenantId, id);
        if (!before) throw new NotFound('no such group');
        if (options.expectedVersion !== undefined && String(before.version) !== options.expectedVersion) throw new VersionMismatch();
        const current = await this.#repo.members(tenantId, id, trx);
        const change = await compute(before, current, trx);
        const wanted = change.members ? await this.#resolve(trx, tenantId, id, change.members) : current;
        const key = (m: MemberRef): string => `${m.kind}:${m.id}`;
        const have = new Set(current.map(key));
        const want = new Set(wanted.map(key));
        const added = wanted.filter((m) => !have.has(key(m)));
        const removed = current.filter((m) => !want.has(key(m)));
        if (change.changed.length === 0 && added.length === 0 && removed.length === 0) return before;
        const updated = await this.#repo.updateGroup(trx, tenantId, id, String(before.version), change.group);
        if (!updated) throw new VersionMismatch();
        await this.#repo.removeMembers(trx, tenantId, id, removed);
        await this.#repo.addMembers(trx, tenantId, id, added);
        await this.#audit.recordWith(trx, tenantId, {
          type: 'group.updated',
          actor: ctx.actor,
          subject: `group:${id}`,
          ip: ctx.ip ?? null,
          details: { changed: change.changed, source: ctx.source, membersAdded: audited(added), membersRemoved: audited(removed) },
        });
        return updated;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict('a group with this displayName already exists', { cause: error });
      throw error;
    }
  }

  async deleteGroup(tenantId: string, id: string, options: { expectedVersion?: string | undefined }, ctx: ProvisioningContext): Promise<void> {
    if (!isUuid(id)) throw new NotFound('no such group');
    const before = await this.#repo.findGroup(tenantId, id);
    if (!before) throw new NotFound('no such group');
    if (options.expectedVersion !== undefined && String(before.version) !== options.expectedVersion) throw new VersionMismatch();
    await this.#db.transaction().execute(async (trx) => {
      if (!(await this.#repo.deleteGroup(trx, tenantId, id, options.expectedVersion))) {
        throw options.expectedVersion !== undefined ? new VersionMismatch() : new NotFound('no such group');
      }
      await this.#audit.recordWith(trx, tenantId, {
        type: 'group.deleted',
        actor: ctx.actor,
        subject: `group:${id}`,
        ip: ctx.ip ?? null,
        details: { name: before.name, source: ctx.source },
      });
    });
  }

  async #checkOwnership(
    db: Kysely<Database>,
    tenantId: string,
    changed: readonly string[],
    owners: Readonly<Record<string, string>>,
    fallbackOwner: string,
    ctx: ProvisioningContext,
  ): Promise<void> {
    const precedence = await this.#precedence.get(tenantId, db);
    const conflicts = conflictsFor(precedence, ctx.source, changed, owners, fallbackOwner);
    if (conflicts.length > 0) throw new AttributeConflict(conflicts);
  }

  /** A refused write is reported in the audit trail (after its transaction ended: nothing else committed). */
  async #reportConflict(error: unknown, tenantId: string, subject: string, ctx: ProvisioningContext): Promise<void> {
    if (!(error instanceof AttributeConflict)) return;
    await this.#audit.record(tenantId, {
      type: 'identity.attribute_conflict',
      actor: ctx.actor,
      subject,
      ip: ctx.ip ?? null,
      details: { source: ctx.source, conflicts: error.conflicts, outcome: 'rejected' },
    });
  }

  /** Checks that every member exists in the tenant (and is not the group itself); fills in its kind. */
  async #resolve(db: Kysely<Database>, tenantId: string, groupId: string, members: readonly MemberInput[]): Promise<MemberRef[]> {
    const unique = [...new Map(members.map((m) => [m.id.toLowerCase(), m])).values()];
    for (const m of unique) if (!isUuid(m.id) || m.id.toLowerCase() === groupId) throw new UnknownMember(m.id);
    const kinds = await this.#repo.resolveMembers(tenantId, unique.map((m) => m.id.toLowerCase()), db);
    return unique.map((m) => {
      const kind = kinds.get(m.id.toLowerCase());
      if (!kind || (m.kind !== undefined && m.kind !== kind)) throw new UnknownMember(m.id);
      return { kind, id: m.id.toLowerCase() };
    });
  }
}

function audited(members: readonly MemberRef[]): { count: number; ids: string[] } {
  return { count: members.length, ids: members.slice(0, AUDITED_MEMBERS).map((m) => `${m.kind}:${m.id}`) };
}
