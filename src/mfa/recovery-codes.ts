/**
 * Recovery codes: ten single-use codes of 80 random bits each (16 Crockford base32 characters, shown as
 * XXXX-XXXX-XXXX-XXXX), stored as SHA-256 digests (src/lib/secrets.ts: codes this strong cannot be
 * guessed, so a slow hash would add nothing), shown once, regenerable (which voids the old ones).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import type { Clock } from '../lib/clock.ts';
import { hashSecret } from '../lib/secrets.ts';
import type { RecoveryCodeRepository } from './recovery-code-repository.ts';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 16;

/** 80 random bits as 16 base32 characters, grouped by four. */
export function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = CODE_LENGTH - 1; i >= 0; i--) out += ALPHABET.charAt(Number((bits >> BigInt(i * 5)) & 31n));
  return out.match(/.{4}/g)?.join('-') ?? out;
}

/** Upper case without separators; the letters people confuse with digits read as those digits. */
export function normalizeRecoveryCode(input: string): string | undefined {
  const code = input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (code.length !== CODE_LENGTH) return undefined;
  for (const c of code) if (!ALPHABET.includes(c)) return undefined;
  return code;
}

export class RecoveryCodes {
  readonly #db: Kysely<Database>;
  readonly #codes: RecoveryCodeRepository;
  readonly #audit: AuditLog;
  readonly #clock: Clock;

  constructor(db: Kysely<Database>, codes: RecoveryCodeRepository, audit: AuditLog, clock: Clock) {
    this.#db = db;
    this.#codes = codes;
    this.#audit = audit;
    this.#clock = clock;
  }

  /** New codes for the user (the previous ones stop working); the plain codes exist only in the answer. */
  async regenerate(tenantId: string, userId: string, ctx: ChangeContext): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const hashes = codes.map((c) => hashSecret(normalizeRecoveryCode(c) ?? c));
    await this.#db.transaction().execute(async (trx) => {
      await this.#codes.replace(tenantId, userId, hashes, this.#clock.now(), trx);
      await this.#audit.recordWith(trx, tenantId, {
        type: 'mfa.recovery_codes.generated',
        actor: ctx.actor,
        subject: `user:${userId}`,
        ip: ctx.ip ?? null,
        details: { count: codes.length },
      });
    });
    return codes;
  }

  /** True once per valid code. */
  async consume(tenantId: string, userId: string, presented: string): Promise<boolean> {
    const code = normalizeRecoveryCode(presented);
    if (!code) return false;
    return this.#codes.consume(tenantId, userId, hashSecret(code), this.#clock.now());
  }

  remaining(tenantId: string, userId: string): Promise<number> {
    return this.#codes.remaining(tenantId, userId);
  }
}
