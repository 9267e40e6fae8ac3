/** The bundled DB-IP Lite data, read offline through geo.ts: the addresses the risk suites rely on. */
import { describe, expect, it } from 'vitest';
import { bundledDbIpPaths, DEFAULT_ACCURACY_KM, MmdbGeoLocator, toLocation } from '../../src/risk/geo.ts';
import { IPS } from './fixture.ts';

const geo = new MmdbGeoLocator();

describe('geo (bundled DB-IP Lite City)', () => {
  it('places the French test addresses in Paris', async () => {
    for (const ip of [IPS.paris, IPS.paris2]) {
      const at = await geo.locate(ip);
      expect(at?.country).toBe('FR');
      expect(at?.latitude).toBeCloseTo(48.86, 1);
      expect(at?.longitude).toBeCloseTo(2.35, 1);
    }
  });

  it('places the Australian test addresses in Sydney and Brisbane', async () => {
    const sydney = await geo.locate(IPS.sydney);
    expect(sydney?.country).toBe('AU');
    expect(sydney?.latitude).toBeCloseTo(-33.87, 1);
    expect((await geo.locate(IPS.brisbane))?.country).toBe('AU');
  });

  it('locates IPv6 and IPv4-mapped addresses', async () => {
    expect((await geo.locate('2a01:cb00::1'))?.country).toBe('FR');
    expect((await geo.locate(`::ffff:${IPS.paris}`))?.country).toBe('FR');
  });

  it('has no ASN and assumes the default uncertainty (DB-IP Lite City carries neither)', async () => {
    const at = await geo.locate(IPS.paris);
    expect(at?.asn).toBeUndefined();
    expect(at?.accuracyKm).toBe(DEFAULT_ACCURACY_KM);
  });

  it('knows nothing of private, loopback or malformed addresses', async () => {
    expect(await geo.locate('127.0.0.1')).toBeUndefined();
    expect(await geo.locate('10.1.2.3')).toBeUndefined();
    expect(await geo.locate('not an ip')).toBeUndefined();
  });

  it('reads MaxMind City records (accuracy radius, ASN from traits)', () => {
    expect(
      toLocation({
        country: { iso_code: 'DE' },
        location: { latitude: 52.5, longitude: 13.4, accuracy_radius: 20 },
        city: { names: { en: 'Berlin' } },
        traits: { autonomous_system_number: 3320 },
      }),
    ).toEqual({ country: 'DE', latitude: 52.5, longitude: 13.4, accuracyKm: 20, city: 'Berlin', asn: 3320 });
  });
});

describe('geo configuration', () => {
  it('fails loudly at preload when GEOIP_DB names a missing file', async () => {
    await expect(new MmdbGeoLocator({ cityDbPath: '/nonexistent/GeoLite2-City.mmdb' }).preload()).rejects.toThrow(/ENOENT/);
  });

  it('can read a configured City file (here: the bundled IPv4 one under the GEOIP_DB path)', async () => {
    const custom = new MmdbGeoLocator({ cityDbPath: bundledDbIpPaths().ipv4 });
    await custom.preload();
    expect((await custom.locate(IPS.sydney))?.country).toBe('AU');
  });
});
