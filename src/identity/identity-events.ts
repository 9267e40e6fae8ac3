/**
 * Identity events: how a change to a user reaches the protocol layers (token revocation in oidc/) without
 * the core importing them. Listeners run after the change committed; their failures are reported to the
 * `onError` hook, never to the caller of the change.
 */
export interface IdentityEvent {
  readonly type: 'user.deactivated' | 'user.deleted' | 'user.compromised';
  readonly tenantId: string;
  readonly userId: string;
  /** Who caused it, as in the audit trail (`admin:bootstrap`, `scim:{tokenId}`, …). */
  readonly actor?: string;
}

export type IdentityListener = (event: IdentityEvent) => Promise<void>;

export class IdentityEvents {
  readonly #listeners: IdentityListener[] = [];
  readonly #onError: (error: unknown, event: IdentityEvent) => void;

  constructor(onError: (error: unknown, event: IdentityEvent) => void) {
    this.#onError = onError;
  }

  subscribe(listener: IdentityListener): void {
    this.#listeners.push(listener);
  }

  /** Runs every listener; resolves when all have finished (so callers can promise the effect). */
  async emit(event: IdentityEvent): Promise<void> {
    await Promise.all(
      this.#listeners.map(async (l) => {
        try {
          await l(event);
        } catch (error) {
          this.#onError(error, event);
        }
      }),
    );
  }
}
