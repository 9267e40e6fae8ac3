/**
 * CSRF tokens for our forms: an HMAC of the form's binding (the interaction uid), keyed by a key derived
 * from the master key. The interaction itself is bound to its SameSite cookie by oidc-provider.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export class Csrf {
  /** A KeyObject, so that each token does not import the raw key again. */
  readonly #key: KeyObject;

  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
  }

  token(binding: string): string {
    return createHmac('sha256', this.#key).update(binding, 'utf8').digest('base64url');
  }

  verify(binding: string, presented: unknown): boolean {
    if (typeof presented !== 'string' || presented.length > 100) return false;
    const expected = Buffer.from(this.token(binding));
    const actual = Buffer.from(presented);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
