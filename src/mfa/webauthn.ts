/**
 * Passkeys through @simplewebauthn/server (the only importer of it). The relying party is Portcullis
 * itself: rpID is PUBLIC_URL's host name and the expected origin PUBLIC_URL's origin, for every tenant;
 * tenants are kept apart by the data (a credential is looked up in the tenant only, and its user handle
 * must be the passkey's user). Credentials are discoverable (resident keys) and user verification is
 * required, so one passkey is a complete multi-factor sign-in. Challenges are stored server-side and
 * consumed once; the sign counter only moves forward (PasskeyRepository.recordUse).
 * @see https://www.w3.org/TR/webauthn-3/#sctn-rp-operations
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type VerifiedAuthenticationResponse,
  type VerifiedRegistrationResponse,
} from '@simplewebauthn/server';
import { parse as uuidBytes } from 'uuid';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ChangeContext } from '../identity/user-service.ts';
import type { Clock } from '../lib/clock.ts';
import { isUniqueViolation } from '../lib/errors.ts';
import { isUuid, newId } from '../lib/ids.ts';
import type { PasskeyRecord, PasskeyRepository } from './passkey-repository.ts';
import { challengeOf, type AuthenticationResponse, type RegistrationResponse } from './webauthn-schemas.ts';

/** COSE algorithms we accept: ES256, EdDSA, RS256 (RFC 9053). */
const ALGORITHMS = [-7, -8, -257];
export const CHALLENGE_TTL_SECONDS = 300;

export interface RelyingParty {
  /** Host name of PUBLIC_URL. */
  readonly id: string;
  /** Origin of PUBLIC_URL. */
  readonly origin: string;
  readonly name: string;
}

export function relyingPartyOf(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl);
  return { id: url.hostname, origin: url.origin, name: 'Portcullis' };
}

export type RegistrationResult =
  | { readonly ok: true; readonly passkey: PasskeyRecord }
  | { readonly ok: false; readonly reason: 'challenge' | 'invalid' | 'duplicate' };

export type PasskeyAuthentication =
  | {
      readonly ok: true;
      readonly userId: string;
      readonly passkeyId: string;
      /** Device-bound (not backup eligible): `hwk`; a synced passkey: `swk`. */
      readonly hardwareBound: boolean;
      readonly userVerified: boolean;
      readonly backedUp: boolean;
    }
  | { readonly ok: false; readonly reason: 'challenge' | 'unknown_credential' | 'user_handle' | 'invalid' | 'counter'; readonly userId?: string };

/** The WebAuthn user handle of a user: the 16 bytes of their UUID. */
function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(uuidBytes(userId));
}

export class PasskeyService {
  readonly #repo: PasskeyRepository;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #rp: RelyingParty;

  constructor(repo: PasskeyRepository, audit: AuditLog, clock: Clock, rp: RelyingParty) {
    this.#repo = repo;
    this.#audit = audit;
    this.#clock = clock;
    this.#rp = rp;
  }

  list(tenantId: string, userId: string): Promise<PasskeyRecord[]> {
    return this.#repo.list(tenantId, userId);
  }

  /** Options for navigator.credentials.create; `binding` ties the challenge to the account session. */
  async registrationOptions(
    tenantId: string,
    user: { readonly id: string; readonly username: string; readonly displayName: string },
    binding: string,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.#repo.list(tenantId, user.id);
    const options = await generateRegistrationOptions({
      rpName: this.#rp.name,
      rpID: this.#rp.id,
      userName: user.username,
      userDisplayName: user.displayName,
      userID: userHandleOf(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: [...p.transports] })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    await this.#saveChallenge(tenantId, options.challenge, 'registration', binding, user.id);
    return options;
  }

  async register(
    tenantId: string,
    userId: string,
    binding: string,
    name: string,
    response: RegistrationResponse,
    ctx: ChangeContext,
  ): Promise<RegistrationResult> {
    const challenge = challengeOf(response.response.clientDataJSON);
    const taken = challenge
      ? await this.#repo.consumeChallenge(tenantId, { challenge, purpose: 'registration', binding, now: this.#clock.now() })
      : undefined;
    if (!challenge || taken?.userId !== userId) return { ok: false, reason: 'challenge' };
    let verified: VerifiedRegistrationResponse;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.#rp.origin,
        expectedRPID: this.#rp.id,
        requireUserVerification: true,
        supportedAlgorithmIDs: ALGORITHMS,
      });
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (!verified.verified) return { ok: false, reason: 'invalid' };
    const info = verified.registrationInfo;
    const passkey: PasskeyRecord = {
      id: newId(),
      userId,
      credentialId: info.credential.id,
      publicKey: info.credential.publicKey,
      signCount: info.credential.counter,
      transports: response.response.transports ?? [],
      name,
      aaguid: info.aaguid,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      createdAt: this.#clock.now(),
      lastUsedAt: null,
    };
    try {
      await this.#repo.insert(tenantId, passkey);
    } catch (error) {
      if (isUniqueViolation(error)) return { ok: false, reason: 'duplicate' };
      throw error;
    }
    await this.#audit.record(tenantId, {
      type: 'mfa.enrolled',
      actor: ctx.actor,
      subject: `user:${userId}`,
      ip: ctx.ip ?? null,
      details: { kind: 'passkey', passkeyId: passkey.id, aaguid: info.aaguid, deviceType: info.credentialDeviceType, backedUp: info.credentialBackedUp },
    });
    return { ok: true, passkey };
  }

  /** Options for a username-less navigator.credentials.get (no allowCredentials: discoverable only). */
  async authenticationOptions(tenantId: string, binding: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({ rpID: this.#rp.id, userVerification: 'required', allowCredentials: [] });
    await this.#saveChallenge(tenantId, options.challenge, 'authentication', binding, null);
    return options;
  }

  async authenticate(tenantId: string, binding: string, response: AuthenticationResponse, ip: string | null): Promise<PasskeyAuthentication> {
    const now = this.#clock.now();
    const challenge = challengeOf(response.response.clientDataJSON);
    const taken = challenge ? await this.#repo.consumeChallenge(tenantId, { challenge, purpose: 'authentication', binding, now }) : undefined;
    if (!challenge || !taken) return { ok: false, reason: 'challenge' };
    const passkey = await this.#repo.findByCredentialId(tenantId, response.id);
    if (!passkey) return { ok: false, reason: 'unknown_credential' };
    const handle = response.response.userHandle;
    if (handle !== undefined && (!isUuid(passkey.userId) || handle !== Buffer.from(userHandleOf(passkey.userId)).toString('base64url'))) {
      return { ok: false, reason: 'user_handle', userId: passkey.userId };
    }
    let verified: VerifiedAuthenticationResponse;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.#rp.origin,
        expectedRPID: this.#rp.id,
        credential: { id: passkey.credentialId, publicKey: new Uint8Array(passkey.publicKey), counter: passkey.signCount, transports: [...passkey.transports] },
        requireUserVerification: true,
      });
    } catch (error) {
      // The library refuses a counter that did not grow before we get to our own atomic check.
      if (error instanceof Error && /counter/i.test(error.message)) return this.#counterRegressed(tenantId, passkey, ip, passkey.signCount);
      return { ok: false, reason: 'invalid', userId: passkey.userId };
    }
    if (!verified.verified) return { ok: false, reason: 'invalid', userId: passkey.userId };
    const info = verified.authenticationInfo;
    const outcome = await this.#repo.recordUse(tenantId, passkey.credentialId, { signCount: info.newCounter, backedUp: info.credentialBackedUp, at: now });
    if (outcome === 'missing') return { ok: false, reason: 'unknown_credential' };
    if (outcome === 'regressed') return this.#counterRegressed(tenantId, passkey, ip, info.newCounter);
    return {
      ok: true,
      userId: passkey.userId,
      passkeyId: passkey.id,
      hardwareBound: passkey.deviceType === 'singleDevice',
      userVerified: info.userVerified,
      backedUp: info.credentialBackedUp,
    };
  }

  async rename(tenantId: string, userId: string, passkeyId: string, name: string, ctx: ChangeContext): Promise<boolean> {
    if (!isUuid(passkeyId)) return false;
    const renamed = await this.#repo.rename(tenantId, userId, passkeyId, name);
    if (renamed) {
      await this.#audit.record(tenantId, { type: 'mfa.renamed', actor: ctx.actor, subject: `user:${userId}`, ip: ctx.ip ?? null, details: { kind: 'passkey', passkeyId } });
    }
    return renamed;
  }

  async remove(tenantId: string, userId: string, passkeyId: string, ctx: ChangeContext): Promise<boolean> {
    if (!isUuid(passkeyId)) return false;
    const removed = await this.#repo.remove(tenantId, userId, passkeyId);
    if (removed) {
      await this.#audit.record(tenantId, { type: 'mfa.removed', actor: ctx.actor, subject: `user:${userId}`, ip: ctx.ip ?? null, details: { kind: 'passkey', passkeyId } });
    }
    return removed !== undefined;
  }

  async #saveChallenge(tenantId: string, challenge: string, purpose: 'registration' | 'authentication', binding: string, userId: string | null): Promise<void> {
    const expiresAt = new Date(this.#clock.now().getTime() + CHALLENGE_TTL_SECONDS * 1000);
    await this.#repo.saveChallenge(tenantId, { challenge, purpose, binding, userId, expiresAt });
  }

  /** A cloned authenticator or a replayed assertion: refuse, and leave evidence. */
  async #counterRegressed(tenantId: string, passkey: PasskeyRecord, ip: string | null, presented: number): Promise<PasskeyAuthentication> {
    await this.#audit.record(tenantId, {
      type: 'mfa.passkey.counter_regressed',
      actor: 'anonymous',
      subject: `user:${passkey.userId}`,
      ip,
      details: { passkeyId: passkey.id, stored: passkey.signCount, presented },
    });
    return { ok: false, reason: 'counter', userId: passkey.userId };
  }
}
