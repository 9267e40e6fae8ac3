/**
 * Default points, thresholds and hard rules of the risk engine; README.md beside this file explains each
 * and why. Points add up to a score; the tenant's policy cuts the score into levels (default: below 30
 * low, from 30 medium, from 60 high). A single strong signal (impossible travel) reaches high alone;
 * novelty signals need company (a new device on a new network is still low; add a new country: medium).
 */

export const DEFAULT_WEIGHTS = {
  /** No valid device cookie, or a cookie of a device this user never completed a sign-in on. */
  newDevice: 15,
  /** A device cookie whose signature does not verify: tampered, or from another installation. */
  invalidDeviceCookie: 20,
  /** The device is bound to one of the user's passkeys: strong trust evidence. */
  passkeyBoundDevice: -25,
  /** IPv4 /24 or IPv6 /64 not among the user's recent successful sign-ins. */
  newNetwork: 10,
  /** Autonomous system not among recent sign-ins (only when the geo database knows ASNs). */
  newAsn: 10,
  /** Country not among recent sign-ins. */
  newCountry: 25,
  /** Graded travel since the previous successful sign-in (formula in README.md). */
  travel: 5,
  substantialTravel: 20,
  impossibleTravel: 60,
  /** Consecutive password failures on the account before this success. */
  someFailures: 10,
  manyFailures: 30,
  /** The source (IP, /24 or /64, ASN) fails most of its attempts: credential stuffing. */
  stuffingSource: 25,
  /** The user agent announces automation (HTTP library, headless browser, crawler). */
  automationAgent: 30,
  missingUserAgent: 15,
  /** The address is in one of the tenant's trusted networks. */
  trustedNetwork: -20,
  /** Points shown for a hard rule; the rule decides regardless of the sum. */
  hardRule: 100,
} as const;

export type Weights = { readonly [K in keyof typeof DEFAULT_WEIGHTS]: number };

export const THRESHOLDS = {
  /** Successful sign-ins looked at for novelty, and how far back. */
  recentSignIns: 50,
  recentDays: 90,
  travel: {
    /** Distance (km) beyond both uncertainties below which no travel is reported. */
    minDistanceKm: 500,
    /** Elapsed time floor (hours): a few minutes never turn a short hop into a supersonic one. */
    floorHours: 1,
    /** km/h beyond which travel needs at least a fast train or a plane. */
    substantialKmh: 300,
    /** km/h beyond which no passenger could have made it (airliners cruise at about 900 km/h). */
    impossibleKmh: 1000,
  },
  failures: {
    /** Consecutive failures from which the success carries points, and many of them. */
    some: 3,
    many: 8,
    /** Consecutive failures reset after this long without one (seconds). */
    resetAfterSeconds: 24 * 3600,
    /** Progressive delay: from `delayFrom` failures, 2^(n - delayFrom) s, at most `maxDelaySeconds`. */
    delayFrom: 3,
    maxDelaySeconds: 60,
  },
  sources: {
    /** Sliding window (minutes) for spray and stuffing detection. */
    sprayWindowMinutes: 60,
    /** Distinct usernames failed from one source within the window: a password spray. */
    sprayDistinctUsernames: 10,
    /** Attempts from one source within the window, and the failed share, that suggest stuffing. */
    stuffingMinAttempts: 20,
    stuffingFailureRatio: 0.9,
    /** Window (minutes) and failed attempts answered 429: per IP, per /24 or /64. */
    throttleWindowMinutes: 15,
    throttlePerIp: 50,
    throttlePerNetwork: 200,
  },
} as const;

/** Contributions that decide alone, before any points are added. */
export const HARD_RULES: Readonly<Record<string, 'deny' | 'high'>> = {
  network_denied: 'deny',
  country_denied: 'deny',
  account_compromised: 'deny',
  spray_source_success: 'high',
};
