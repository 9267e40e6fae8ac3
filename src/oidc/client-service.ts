/** Registering and changing OIDC clients (admin API and CLI). */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ClientRow, Database } from '../db/schema.ts';
import { Conflict, InvalidInput, NotFound, isUniqueViolation } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { generateSecret, hashSecret } from '../lib/secrets.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import type { ClientStore } from './client-store.ts';
import type { ClientMetadataInput, ClientPatchInput } from './client-schemas.ts';

/** Checks metadata with the tenant's oidc-provider, so that what we store is what it accepts. */
export type ClientValidator = (tenantId: string, metadata: Record<string, unknown>) => Promise<void>;

export type ClientView = Record<string, unknown> & { client_id: string; client_secret?: string };

export class ClientService {
  readonly #db: Kysely<Database>;
  readonly #store: ClientStore;
  readonly #audit: AuditLog;
  readonly #validate: ClientValidator;

  constructor(db: Kysely<Database>, store: ClientStore, audit: AuditLog, validate: ClientValidator) {
    this.#db = db;
    this.#store = store;
    this.#audit = audit;
    this.#validate = validate;
  }

  /** Registers a client; the answer carries `client_secret` this once. */
  async register(tenantId: string, input: ClientMetadataInput, ctx: ChangeContext): Promise<ClientView> {
    const { client_id: requestedId, ...rest } = input;
    const clientId = requestedId ?? newId();
    const metadata = withDefaults(rest);
    const secret = needsSecret(metadata) ? generateSecret() : undefined;
    await this.#validate(tenantId, { ...metadata, client_id: clientId, ...(secret ? { client_secret: secret } : {}) });
    try {
      const row = await this.#db.transaction().execute(async (trx) => {
        const created = await this.#store.insert(tenantId, clientId, metadata, secret ? hashSecret(secret) : null, trx);
        await this.#audit.recordWith(trx, tenantId, {
          type: 'client.created',
          actor: ctx.actor,
          subject: `client:${clientId}`,
          ip: ctx.ip ?? null,
          details: { metadata },
        });
        return created;
      });
      return { ...view(row), ...(secret ? { client_secret: secret } : {}) };
    } catch (error) {
      if (isUniqueViolation(error)) throw new Conflict(`client ${clientId} already exists`);
      throw error;
    }
  }

  async get(tenantId: string, clientId: string): Promise<ClientView> {
    const row = await this.#store.find(tenantId, clientId);
    if (!row) throw new NotFound('no such client');
    return view(row);
  }

  async list(tenantId: string, q: { cursor?: string; limit: number }): Promise<{ items: ClientView[]; next: string | null }> {
    const rows = await this.#store.list(tenantId, { cursor: q.cursor, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    return { items: page.map(view), next: rows.length > q.limit ? (page.at(-1)?.client_id ?? null) : null };
  }

  async update(tenantId: string, clientId: string, patch: ClientPatchInput, ctx: ChangeContext): Promise<ClientView> {
    const { rotate_secret: rotate, ...changes } = patch;
    const current = await this.#store.find(tenantId, clientId);
    if (!current) throw new NotFound('no such client');
    const metadata = withDefaults({ ...current.metadata, ...changes });
    const secretNeeded = needsSecret(metadata);
    const secret = secretNeeded && (rotate === true || !current.secret_hash) ? generateSecret() : undefined;
    const secretHash = secretNeeded ? (secret ? hashSecret(secret) : current.secret_hash) : null;
    // The validator needs a secret when the method uses one; a stand-in is enough to check the shape.
    await this.#validate(tenantId, {
      ...metadata,
      client_id: clientId,
      ...(secretNeeded ? { client_secret: secret ?? 'unchanged-secret-placeholder' } : {}),
    });
    const row = await this.#db.transaction().execute(async (trx) => {
      const updated = await this.#store.update(tenantId, clientId, metadata, secretHash, trx);
      if (!updated) throw new NotFound('no such client');
      await this.#audit.recordWith(trx, tenantId, {
        type: 'client.updated',
        actor: ctx.actor,
        subject: `client:${clientId}`,
        ip: ctx.ip ?? null,
        details: { changed: Object.keys(changes), secretRotated: secret !== undefined },
      });
      return updated;
    });
    return { ...view(row), ...(secret ? { client_secret: secret } : {}) };
  }

  async delete(tenantId: string, clientId: string, ctx: ChangeContext): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      if (!(await this.#store.delete(tenantId, clientId, trx))) throw new NotFound('no such client');
      await this.#audit.recordWith(trx, tenantId, {
        type: 'client.deleted',
        actor: ctx.actor,
        subject: `client:${clientId}`,
        ip: ctx.ip ?? null,
      });
    });
  }
}

function withDefaults(m: Record<string, unknown>): Record<string, unknown> {
  const grantTypes = (m.grant_types as string[] | undefined) ?? ['authorization_code', 'refresh_token'];
  const interactive = grantTypes.includes('authorization_code');
  const responseTypes = (m.response_types as string[] | undefined) ?? (interactive ? ['code'] : []);
  if (!interactive && responseTypes.length > 0) {
    throw new InvalidInput('response_types must be empty for a client without the authorization_code grant');
  }
  return {
    ...m,
    grant_types: grantTypes,
    response_types: responseTypes,
    token_endpoint_auth_method: m.token_endpoint_auth_method ?? 'client_secret_basic',
    ...(!interactive && { redirect_uris: m.redirect_uris ?? [] }),
  };
}

function needsSecret(m: Record<string, unknown>): boolean {
  return m.token_endpoint_auth_method === 'client_secret_basic' || m.token_endpoint_auth_method === 'client_secret_post';
}

function view(row: ClientRow): ClientView {
  return {
    ...row.metadata,
    client_id: row.client_id,
    client_id_issued_at: Math.floor(row.created_at.getTime() / 1000),
    ...(row.secret_hash ? { client_secret_expires_at: 0 } : {}),
  };
}
