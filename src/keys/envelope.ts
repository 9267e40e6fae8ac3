/**
 * Envelope encryption for secrets at rest (signing keys, later TOTP seeds and LDAP bind passwords).
 * Each tenant has data keys (random 256-bit AES keys); a data key is stored wrapped by the master key
 * with AES key wrap (JWE `A256KW`), and each secret is a compact JWE (`dir`, `A256GCM`) under a data key,
 * whose id travels in the JWE `kid` header. Rotating the master key re-wraps data keys only.
 */
import { randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, FlattenedEncrypt, flattenedDecrypt } from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { newId } from '../lib/ids.ts';
import type { MasterKey } from './master-key.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface DataKey {
  readonly id: string;
  readonly key: Uint8Array;
}

export class SecretBox {
  readonly #db: Kysely<Database>;
  readonly #master: MasterKey;
  /** Unwrapped data keys by `${tenant}/${id}`; immutable once written, so caching is safe. */
  readonly #cache = new Map<string, Uint8Array>();

  constructor(db: Kysely<Database>, master: MasterKey) {
    this.#db = db;
    this.#master = master;
  }

  /** Encrypts `plaintext` for `tenantId`; the result is a compact JWE string. */
  async seal(tenantId: string, plaintext: string | Uint8Array, db: Kysely<Database> = this.#db): Promise<string> {
    const dataKey = await this.#currentDataKey(tenantId, db);
    const bytes = typeof plaintext === 'string' ? encoder.encode(plaintext) : plaintext;
    return new CompactEncrypt(bytes).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: dataKey.id }).encrypt(dataKey.key);
  }

  async open(tenantId: string, jwe: string): Promise<string> {
    const { plaintext } = await compactDecrypt(jwe, async (header) => {
      if (typeof header.kid !== 'string') throw new Error('sealed secret has no data key id');
      return this.#dataKey(tenantId, header.kid);
    });
    return decoder.decode(plaintext);
  }

  async #currentDataKey(tenantId: string, db: Kysely<Database>): Promise<DataKey> {
    const row = await db
      .selectFrom('data_keys')
      .select(['id', 'wrapped'])
      .where('tenant_id', '=', tenantId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (row) return { id: row.id, key: await this.#unwrapCached(tenantId, row.id, row.wrapped) };
    const key = new Uint8Array(randomBytes(32));
    const id = newId();
    const wrapped = await this.#wrap(key);
    await db
      .insertInto('data_keys')
      .values({ tenant_id: tenantId, id, wrapped, master_kid: this.#master.kid })
      .execute();
    this.#cache.set(`${tenantId}/${id}`, key);
    return { id, key };
  }

  async #dataKey(tenantId: string, id: string): Promise<Uint8Array> {
    const cached = this.#cache.get(`${tenantId}/${id}`);
    if (cached) return cached;
    const row = await this.#db
      .selectFrom('data_keys')
      .select('wrapped')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new Error(`data key ${id} of tenant ${tenantId} not found`);
    return this.#unwrapCached(tenantId, id, row.wrapped);
  }

  async #unwrapCached(tenantId: string, id: string, wrapped: string): Promise<Uint8Array> {
    const cacheKey = `${tenantId}/${id}`;
    const cached = this.#cache.get(cacheKey);
    if (cached) return cached;
    const key = await this.#unwrap(wrapped);
    this.#cache.set(cacheKey, key);
    return key;
  }

  async #wrap(key: Uint8Array): Promise<string> {
    const jwe = await new FlattenedEncrypt(key)
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: this.#master.kid })
      .encrypt(this.#master.key);
    return JSON.stringify(jwe);
  }

  async #unwrap(wrapped: string): Promise<Uint8Array> {
    const jwe = JSON.parse(wrapped) as Parameters<typeof flattenedDecrypt>[0];
    const { plaintext } = await flattenedDecrypt(jwe, this.#master.key);
    return plaintext;
  }
}
