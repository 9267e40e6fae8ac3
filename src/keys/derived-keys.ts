/**
 * Keys derived from the master key with HKDF-SHA-256 (RFC 5869), one per purpose, so that no purpose
 * needs a stored secret of its own: cookie signing per tenant, CSRF tokens, device cookies.
 */
import { hkdfSync } from 'node:crypto';
import type { MasterKey } from './master-key.ts';

export class DerivedKeys {
  readonly #master: MasterKey;
  readonly #cache = new Map<string, Buffer>();

  constructor(master: MasterKey) {
    this.#master = master;
  }

  /** 32 bytes for `purpose` (e.g. `cookies:acme`). */
  key(purpose: string): Buffer {
    let k = this.#cache.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', this.#master.key, 'portcullis', purpose, 32));
      this.#cache.set(purpose, k);
    }
    return k;
  }
}
