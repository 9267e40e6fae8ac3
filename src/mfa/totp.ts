/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps) through otplib. Seeds are sealed with SecretBox
 * (envelope encryption per tenant). Enrolment makes a pending factor; one correct code confirms it.
 * Verification accepts the current step ±1 (clock drift) and each step once: the accepted step must be
 * greater than the factor's last one, checked and stored in one UPDATE (FactorRepository.consumeStep).
 * @see https://www.rfc-editor.org/rfc/rfc6238#section-5.2
 */
import { generateSecret, generateURI, verify } from 'otplib';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import type { SecretBox } from '../keys/envelope.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import type { FactorRepository } from './factor-repository.ts';
import { qrSvg } from './qr.ts';

export const TOTP_PERIOD_SECONDS = 30;
/** One step either side, in seconds as otplib counts tolerance. */
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;

export interface TotpEnrolment {
  readonly factorId: string;
  /** Base32, for manual entry (shown beside the QR code). */
  readonly secret: string;
  readonly otpauthUri: string;
  /** The otpauth URI as an inline SVG QR code. */
  readonly qrSvg: string;
}

export type TotpVerification =
  | { readonly ok: true; readonly factorId: string; readonly timeStep: number }
  | { readonly ok: false; readonly reason: 'not_enrolled' | 'invalid' | 'replayed' };

export class TotpService {
  readonly #factors: FactorRepository;
  readonly #box: SecretBox;
  readonly #audit: AuditLog;
  readonly #clock: Clock;

  constructor(factors: FactorRepository, box: SecretBox, audit: AuditLog, clock: Clock) {
    this.#factors = factors;
    this.#box = box;
    this.#audit = audit;
    this.#clock = clock;
  }

  /** Starts enrolment: `issuer` and `label` name the account in the authenticator app. */
  async enrol(tenantId: string, userId: string, names: { readonly issuer: string; readonly label: string }): Promise<TotpEnrolment> {
    const secret = generateSecret({ length: 20 });
    const factorId = newId();
    const secretJwe = await this.#box.seal(tenantId, secret);
    await this.#factors.insertPending(tenantId, userId, { id: factorId, kind: 'totp', secretJwe, at: this.#clock.now() });
    const otpauthUri = generateURI({ issuer: names.issuer, label: names.label, secret, period: TOTP_PERIOD_SECONDS, digits: 6, algorithm: 'sha1' });
    return { factorId, secret, otpauthUri, qrSvg: await qrSvg(otpauthUri) };
  }

  /** Confirms a pending factor with one code; it becomes the user's TOTP factor (replacing any other). */
  async confirm(tenantId: string, userId: string, factorId: string, code: string, ctx: ChangeContext): Promise<boolean> {
    const factor = await this.#factors.find(tenantId, userId, factorId);
    if (factor?.status !== 'pending') return false;
    const step = await this.#match(tenantId, factor.secretJwe, code);
    if (step === undefined) return false;
    const now = this.#clock.now();
    if (!(await this.#factors.activate(tenantId, userId, factorId, step, now))) return false;
    await this.#audit.record(tenantId, {
      type: 'mfa.enrolled',
      actor: ctx.actor,
      subject: `user:${userId}`,
      ip: ctx.ip ?? null,
      details: { factorId, kind: 'totp' },
    });
    return true;
  }

  /** Checks a sign-in code; a code (time step) is accepted once. */
  async verify(tenantId: string, userId: string, code: string): Promise<TotpVerification> {
    const factor = await this.#factors.findActive(tenantId, userId, 'totp');
    if (!factor) return { ok: false, reason: 'not_enrolled' };
    const step = await this.#match(tenantId, factor.secretJwe, code);
    if (step === undefined) return { ok: false, reason: 'invalid' };
    const fresh = await this.#factors.consumeStep(tenantId, userId, factor.id, step, this.#clock.now());
    return fresh ? { ok: true, factorId: factor.id, timeStep: step } : { ok: false, reason: 'replayed' };
  }

  /** The time step `code` belongs to (current ±1), or undefined. */
  async #match(tenantId: string, secretJwe: string, code: string): Promise<number | undefined> {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return undefined;
    const secret = await this.#box.open(tenantId, secretJwe);
    const result = await verify({
      secret,
      token,
      epoch: Math.floor(this.#clock.now().getTime() / 1000),
      epochTolerance: TOLERANCE_SECONDS,
      period: TOTP_PERIOD_SECONDS,
    });
    return result.valid && 'timeStep' in result ? result.timeStep : undefined;
  }
}
