/**
 * The engine's combined round trips (sign-in-statements.ts): the read of an assessment's signals and the
 * writes of a completed sign-in. An assessment itself is stored as its `risk.assessment` audit event
 * (hash-chained; read through the audit API), not in a table of its own.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { CombinedWrite } from '../db/combined-writes.ts';
import { learnSignIn, learnWrite, readSignals, type Learned, type Signals, type SignalsQuery } from './signals/sign-in-statements.ts';

export class AssessmentRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Everything precheck or assess reads, in one statement. */
  signals(q: SignalsQuery): Promise<Signals> {
    return readSignals(this.#db, q);
  }

  /** complete()'s writes, in one statement of their own. */
  learn(l: Learned): Promise<void> {
    return learnSignIn(this.#db, l);
  }

  /** The same writes, for another statement to carry (the assessment's audit event: AuditLog.record). */
  learnWrite(l: Learned): CombinedWrite {
    return learnWrite(l);
  }
}
