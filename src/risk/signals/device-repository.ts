/** Devices (browsers holding a device cookie) per user: first and last seen, agent family, last network. */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

export interface DeviceRecord {
  readonly id: string;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  readonly userAgentFamily: string;
  readonly lastIp: string;
  readonly lastNetwork: string;
  readonly signIns: number;
  readonly passkeyBound: boolean;
}

export interface DeviceSighting {
  readonly id: string;
  readonly at: Date;
  readonly userAgentFamily: string;
  readonly ip: string;
  readonly network: string;
  /** Sets the passkey binding (never clears it). */
  readonly passkeyBound: boolean;
}

type Row = {
  id: string;
  first_seen_at: Date;
  last_seen_at: Date;
  user_agent_family: string;
  last_ip: string;
  last_network: string;
  sign_ins: number;
  passkey_bound: boolean;
};

const COLUMNS = ['id', 'first_seen_at', 'last_seen_at', 'user_agent_family', 'last_ip', 'last_network', 'sign_ins', 'passkey_bound'] as const;

function toRecord(r: Row): DeviceRecord {
  return {
    id: r.id,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
    userAgentFamily: r.user_agent_family,
    lastIp: r.last_ip,
    lastNetwork: r.last_network,
    signIns: r.sign_ins,
    passkeyBound: r.passkey_bound,
  };
}

export class DeviceRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async find(tenantId: string, userId: string, id: string): Promise<DeviceRecord | undefined> {
    const row = await this.#db
      .selectFrom('devices')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Most recently seen first. */
  async list(tenantId: string, userId: string): Promise<DeviceRecord[]> {
    const rows = await this.#db
      .selectFrom('devices')
      .select(COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .orderBy('last_seen_at', 'desc')
      .execute();
    return rows.map(toRecord);
  }

  async remove(tenantId: string, userId: string, id: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('devices')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
