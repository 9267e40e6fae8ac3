/**
 * Tracks whether the database answers. While it does not, requests are refused at once with 503 instead
 * of queueing on a dead pool; the monitor keeps probing and service resumes when it answers again.
 */
import type { Logger } from 'pino';

export class DatabaseHealth {
  readonly #ping: () => Promise<boolean>;
  readonly #logger: Logger;
  #up = true;
  #timer: NodeJS.Timeout | undefined;
  #probing = false;

  constructor(ping: () => Promise<boolean>, logger: Logger) {
    this.#ping = ping;
    this.#logger = logger;
  }

  get up(): boolean {
    return this.#up;
  }

  /** Probes every `upMs` while healthy and every `downMs` while not. */
  start(upMs = 2000, downMs = 500): void {
    const tick = async (): Promise<void> => {
      await this.probe();
      this.#timer = setTimeout(() => void tick(), this.#up ? upMs : downMs);
      this.#timer.unref();
    };
    this.#timer = setTimeout(() => void tick(), upMs);
    this.#timer.unref();
  }

  /** Reports a failure seen by a request, so the next requests fail fast without waiting for a probe. */
  reportFailure(): void {
    if (this.#up) {
      this.#up = false;
      this.#logger.warn('database unreachable: refusing requests with 503 until it answers');
      void this.probe();
    }
  }

  async probe(): Promise<boolean> {
    if (this.#probing) return this.#up;
    this.#probing = true;
    try {
      const ok = await this.#ping();
      if (ok !== this.#up) this.#logger[ok ? 'info' : 'warn'](ok ? 'database reachable again' : 'database unreachable');
      this.#up = ok;
      return ok;
    } finally {
      this.#probing = false;
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
