import { describe, expect, it } from 'vitest';
import { loadConfig } from './env.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe('./data');
    expect(c.logLevel).toBe('info');
    expect(c.outboundAllowPrivateNetworks).toBe(false);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('derives PUBLIC_URL from PORT and trims a trailing slash', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.com/' }).publicUrl).toBe('https://id.example.com');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ TRUST_PROXY: '', DATABASE_URL: '' }).trustProxy).toBeUndefined();
  });

  it('names every bad variable in one TypeError', () => {
    expect(() => loadConfig({ PORT: 'http', PORTCULLIS_MASTER_KEY: 'c2hvcnQ=', LOG_LEVEL: 'loud' })).toThrow(
      /PORT.*PORTCULLIS_MASTER_KEY: must be 32 bytes.*LOG_LEVEL|PORT.*LOG_LEVEL.*PORTCULLIS_MASTER_KEY/s,
    );
    expect(() => loadConfig({ PORTCULLIS_ADMIN_TOKEN: 'short' })).toThrow(TypeError);
  });
});
