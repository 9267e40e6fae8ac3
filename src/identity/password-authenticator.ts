/**
 * Username + password check. Every path costs one argon2id verification (a dummy one when the user does
 * not exist or has no password), so timing does not tell whether a username exists.
 */
import type { PasswordVerifier } from './passwords.ts';
import type { UserRow } from '../db/schema.ts';
import type { UserRepository } from './user-repository.ts';
import { PASSWORD_MAX_LENGTH } from './passwords.ts';

export type AuthenticationResult =
  | { readonly ok: true; readonly userId: string }
  | { readonly ok: false; readonly reason: 'unknown_user' | 'bad_password' | 'inactive' | 'no_password'; readonly userId?: string };

/** What a password check needs of a user row. */
export type StoredCredential = Pick<UserRow, 'id' | 'password_hash' | 'active'>;

export class PasswordAuthenticator {
  readonly #users: UserRepository;
  readonly #verifier: PasswordVerifier;

  constructor(users: UserRepository, verifier: PasswordVerifier) {
    this.#users = users;
    this.#verifier = verifier;
  }

  /**
   * `lookedUp`: the user this username names (undefined: none), when the caller read it already in this
   * sign-in's own statement, as findByUsername would (the risk precheck reads it with its signals).
   */
  async authenticate(tenantId: string, username: string, password: string, lookedUp?: { readonly user: StoredCredential | undefined }): Promise<AuthenticationResult> {
    const candidate = password.slice(0, PASSWORD_MAX_LENGTH);
    const plausible = username.length > 0 && username.length <= 256;
    const user = !plausible ? undefined : lookedUp ? lookedUp.user : await this.#users.findByUsername(tenantId, username);
    const valid = await this.#verifier.verify(user?.password_hash, candidate);
    if (!user) return { ok: false, reason: 'unknown_user' };
    if (!user.password_hash) return { ok: false, reason: 'no_password', userId: user.id };
    if (!valid) return { ok: false, reason: 'bad_password', userId: user.id };
    if (!user.active) return { ok: false, reason: 'inactive', userId: user.id };
    return { ok: true, userId: user.id };
  }
}
