/** MFA services over a real migrated database, with a hand-moved clock and a random master key. */
import { execFileSync } from 'node:child_process';
import type { Kysely } from 'kysely';
import { AuditLog } from '../../src/audit/audit-log.ts';
import type { Database } from '../../src/db/schema.ts';
import { SecretBox } from '../../src/keys/envelope.ts';
import { FactorRepository } from '../../src/mfa/factor-repository.ts';
import { MfaReset } from '../../src/mfa/mfa-reset.ts';
import { RecoveryCodeRepository } from '../../src/mfa/recovery-code-repository.ts';
import { RecoveryCodes } from '../../src/mfa/recovery-codes.ts';
import { TotpService } from '../../src/mfa/totp.ts';
import { ManualClock, masterKey } from '../risk/fixture.ts';

export interface MfaFixture {
  readonly clock: ManualClock;
  readonly audit: AuditLog;
  readonly factors: FactorRepository;
  readonly totp: TotpService;
  readonly recovery: RecoveryCodes;
  readonly reset: MfaReset;
}

export function createMfaFixture(db: Kysely<Database>, clock = new ManualClock('2026-11-26T10:00:00Z')): MfaFixture {
  const audit = new AuditLog(db, clock);
  const factors = new FactorRepository(db);
  const codes = new RecoveryCodeRepository(db);
  return {
    clock,
    audit,
    factors,
    totp: new TotpService(factors, new SecretBox(db, masterKey()), audit, clock),
    recovery: new RecoveryCodes(db, codes, audit, clock),
    reset: new MfaReset(db, factors, codes, audit),
  };
}

/** The code Debian's `oathtool --totp` computes for `secret` (base32) at `at`: an independent implementation. */
export function oathtool(secret: string, at: Date): string {
  const now = at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', secret, '--now', now], { encoding: 'utf8' }).trim();
}

export const ACTOR = { actor: 'user:test', ip: '127.0.0.1' };
