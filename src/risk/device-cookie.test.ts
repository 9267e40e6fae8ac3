import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DerivedKeys } from '../keys/derived-keys.ts';
import { masterKeyFrom } from '../keys/master-key.ts';
import { DeviceCookies } from './device-cookie.ts';

const keys = () => new DerivedKeys(masterKeyFrom(randomBytes(32).toString('base64')));

describe('DeviceCookies', () => {
  const cookies = new DeviceCookies(keys());
  const id = cookies.newDeviceId();

  it('round-trips a device id', () => {
    expect(cookies.verify('acme', cookies.issue('acme', id))).toEqual({ status: 'valid', deviceId: id });
  });

  it('refuses another tenant, another key, tampering and garbage', () => {
    const value = cookies.issue('acme', id);
    expect(cookies.verify('other', value)).toEqual({ status: 'invalid' });
    expect(new DeviceCookies(keys()).verify('acme', value)).toEqual({ status: 'invalid' });
    const other = cookies.issue('acme', cookies.newDeviceId());
    const [, otherId] = other.split('.');
    const [, , mac] = value.split('.');
    expect(cookies.verify('acme', `v1.${otherId}.${mac}`)).toEqual({ status: 'invalid' });
    for (const junk of ['x', 'v1..', 'v2.a.b', `${value}.extra`]) expect(cookies.verify('acme', junk)).toEqual({ status: 'invalid' });
    expect(cookies.verify('acme', undefined)).toEqual({ status: 'absent' });
    expect(cookies.verify('acme', '')).toEqual({ status: 'absent' });
  });

  it('is HttpOnly, SameSite=Lax, scoped to the tenant', () => {
    expect(cookies.name('acme')).toBe('pc_device_acme');
    expect(cookies.attributes('acme', true)).toMatchObject({ httpOnly: true, sameSite: 'lax', secure: true, path: '/t/acme' });
  });
});
