/**
 * Counters shared by every node: consecutive password failures per account, and attempts per source
 * (IP, /24 or /64, ASN) in one-minute buckets (failures per username, successes in one unnamed row),
 * from which sliding-window failure counts, distinct usernames failed (password spray) and failure ratios
 * (credential stuffing) are read.
 * Every change is an atomic statement. Failures are written at once; successes are tallied on each node and
 * added every 250 ms (SuccessTally).
 */

export interface AccountFailures {
  /** Consecutive failures since the last completed sign-in (reset after a quiet period). */
  readonly consecutive: number;
  readonly lastFailureAt?: Date;
}

export interface SourceStats {
  /** `ip:…`, `net:…`, `asn:…`. */
  readonly source: string;
  /** Within the spray window. */
  readonly failures: number;
  readonly successes: number;
  readonly distinctUsernamesFailed: number;
  /** Failures within the (shorter) throttle window. */
  readonly recentFailures: number;
}

export interface SourceWindows {
  readonly spraySince: Date;
  readonly throttleSince: Date;
}

export interface FailureCounters {
  /** Counts a failed first factor for the account and each source; returns the account's new state. */
  recordFailure(tenantId: string, username: string, sources: readonly string[], at: Date, resetBefore: Date): Promise<AccountFailures>;
  /** The account's failures; zero when the last one is older than `resetBefore`. */
  account(tenantId: string, username: string, resetBefore: Date): Promise<AccountFailures>;
  sources(tenantId: string, sources: readonly string[], windows: SourceWindows): Promise<SourceStats[]>;
  /** After a completed sign-in. */
  resetAccount(tenantId: string, username: string): Promise<void>;
}

/** Account keys compare case-insensitively, like usernames. */
export function accountKey(username: string): string {
  return username.normalize('NFC').trim().toLowerCase();
}

/** Start of the one-minute bucket holding `at`. */
export function bucketOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 60_000) * 60_000);
}
