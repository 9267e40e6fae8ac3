/**
 * Passkeys and WebAuthn ceremony challenges. Single-use state changes in one statement each: a challenge
 * is consumed by DELETE … RETURNING (of two verifications racing on one challenge exactly one gets it),
 * and the sign counter moves only forward through UPDATE … WHERE sign_count < $new (or both zero).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

export type DeviceType = 'singleDevice' | 'multiDevice';
export type ChallengePurpose = 'registration' | 'authentication';

export interface PasskeyRecord {
  readonly id: string;
  readonly userId: string;
  readonly credentialId: string;
  readonly publicKey: Uint8Array;
  readonly signCount: number;
  readonly transports: readonly string[];
  readonly name: string;
  readonly aaguid: string;
  /** `multiDevice`: backup eligible (a synced passkey); `singleDevice`: bound to one authenticator. */
  readonly deviceType: DeviceType;
  readonly backedUp: boolean;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

export type NewPasskey = Omit<PasskeyRecord, 'lastUsedAt' | 'signCount'> & { readonly signCount: number };

const COLUMNS = [
  'id',
  'user_id',
  'credential_id',
  'public_key',
  'sign_count',
  'transports',
  'name',
  'aaguid',
  'device_type',
  'backed_up',
  'created_at',
  'last_used_at',
] as const;

interface Row {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: Buffer;
  sign_count: string;
  transports: string[];
  name: string;
  aaguid: string;
  device_type: DeviceType;
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

function toRecord(r: Row): PasskeyRecord {
  return {
    id: r.id,
    userId: r.user_id,
    credentialId: r.credential_id,
    publicKey: new Uint8Array(r.public_key),
    signCount: Number(r.sign_count),
    transports: r.transports,
    name: r.name,
    aaguid: r.aaguid,
    deviceType: r.device_type,
    backedUp: r.backed_up,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

export type CounterOutcome = 'updated' | 'regressed' | 'missing';

export class PasskeyRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(tenantId: string, p: NewPasskey): Promise<void> {
    await this.#db
      .insertInto('passkeys')
      .values({
        tenant_id: tenantId,
        user_id: p.userId,
        id: p.id,
        credential_id: p.credentialId,
        public_key: Buffer.from(p.publicKey),
        sign_count: p.signCount,
        transports: JSON.stringify(p.transports),
        name: p.name,
        aaguid: p.aaguid,
        device_type: p.deviceType,
        backed_up: p.backedUp,
        created_at: p.createdAt,
      })
      .execute();
  }

  async list(tenantId: string, userId: string): Promise<PasskeyRecord[]> {
    const rows = await this.#db
      .selectFrom('passkeys')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
    return rows.map(toRecord);
  }

  /** The passkey of this tenant with this credential id (username-less sign-in). */
  async findByCredentialId(tenantId: string, credentialId: string): Promise<PasskeyRecord | undefined> {
    const row = await this.#db
      .selectFrom('passkeys')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('credential_id', '=', credentialId)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async rename(tenantId: string, userId: string, id: string, name: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('passkeys')
      .set({ name })
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async remove(tenantId: string, userId: string, id: string): Promise<PasskeyRecord | undefined> {
    const row = await this.#db
      .deleteFrom('passkeys')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .returning(COLUMNS)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /**
   * Records a use: the counter must grow, unless the authenticator keeps none (both zero, as synced
   * passkeys do). One UPDATE decides, so two uses racing with one counter value cannot both pass.
   * @see https://www.w3.org/TR/webauthn-3/#sctn-sign-counter
   */
  async recordUse(
    tenantId: string,
    credentialId: string,
    use: { readonly signCount: number; readonly backedUp: boolean; readonly at: Date },
  ): Promise<CounterOutcome> {
    const row = await this.#db
      .updateTable('passkeys')
      .set({ sign_count: use.signCount, backed_up: use.backedUp, last_used_at: use.at })
      .where('tenant_id', '=', tenantId)
      .where('credential_id', '=', credentialId)
      .where('sign_count', use.signCount === 0 ? '=' : '<', String(use.signCount))
      .returning('id')
      .executeTakeFirst();
    if (row) return 'updated';
    return (await this.findByCredentialId(tenantId, credentialId)) ? 'regressed' : 'missing';
  }

  async saveChallenge(
    tenantId: string,
    c: { readonly challenge: string; readonly purpose: ChallengePurpose; readonly binding: string; readonly userId: string | null; readonly expiresAt: Date },
  ): Promise<void> {
    await this.#db
      .insertInto('webauthn_challenges')
      .values({ tenant_id: tenantId, challenge: c.challenge, purpose: c.purpose, binding: c.binding, user_id: c.userId, expires_at: c.expiresAt })
      .execute();
  }

  /** Takes the challenge if it was issued for `purpose` to `binding` and is unexpired: once, atomically. */
  async consumeChallenge(
    tenantId: string,
    c: { readonly challenge: string; readonly purpose: ChallengePurpose; readonly binding: string; readonly now: Date },
  ): Promise<{ readonly userId: string | null } | undefined> {
    const row = await this.#db
      .deleteFrom('webauthn_challenges')
      .where('tenant_id', '=', tenantId)
      .where('challenge', '=', c.challenge)
      .where('purpose', '=', c.purpose)
      .where('binding', '=', c.binding)
      .where('expires_at', '>', c.now)
      .returning('user_id')
      .executeTakeFirst();
    return row ? { userId: row.user_id } : undefined;
  }

  /** Drops expired challenges of every tenant, tenant by tenant (housekeeping); returns how many. */
  async purgeExpiredChallenges(now: Date): Promise<number> {
    const tenants = await this.#db.selectFrom('tenants').select('tenant_id').execute();
    let total = 0;
    for (const { tenant_id: tenantId } of tenants) total += await this.purgeChallenges(tenantId, now);
    return total;
  }

  /** Drops expired challenges of the tenant (housekeeping); returns how many. */
  async purgeChallenges(tenantId: string, now: Date): Promise<number> {
    const result = await this.#db
      .deleteFrom('webauthn_challenges')
      .where('tenant_id', '=', tenantId)
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
