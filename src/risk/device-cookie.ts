/**
 * The device cookie: a random device id issued after a completed sign-in, signed with HMAC-SHA-256 under
 * a key derived from the master key (purpose `device-cookie`), bound to the tenant. It identifies a
 * browser, not a user: the device list says which users completed a sign-in on it.
 * Value: `v1.<device id, 16 bytes base64url>.<MAC, 32 bytes base64url>`.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { parse as parseUuid, stringify as uuidString } from 'uuid';
import type { DerivedKeys } from '../keys/derived-keys.ts';
import { isUuid, newId } from '../lib/ids.ts';
import type { DeviceVerdict } from './types.ts';

export const DEVICE_COOKIE_PURPOSE = 'device-cookie';
/** 400 days: the longest lifetime browsers keep (RFC 6265bis). */
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 400 * 86_400;

export interface DeviceCookieAttributes {
  readonly httpOnly: true;
  readonly sameSite: 'lax';
  readonly secure: boolean;
  readonly path: string;
  readonly maxAge: number;
}

export class DeviceCookies {
  /** A KeyObject, so that each MAC does not import the raw key again (half of an HMAC's cost). */
  readonly #key: KeyObject;

  constructor(keys: DerivedKeys) {
    this.#key = createSecretKey(keys.key(DEVICE_COOKIE_PURPOSE));
  }

  /** The cookie name carries the tenant, like every Portcullis cookie. */
  name(tenantId: string): string {
    return `pc_device_${tenantId}`;
  }

  /** Attributes for express's `res.cookie` (maxAge in ms there). */
  attributes(tenantId: string, secure: boolean): DeviceCookieAttributes {
    return { httpOnly: true, sameSite: 'lax', secure, path: `/t/${tenantId}`, maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS * 1000 };
  }

  newDeviceId(): string {
    return newId();
  }

  issue(tenantId: string, deviceId: string): string {
    if (!isUuid(deviceId)) throw new TypeError('device id must be a UUID');
    const id = Buffer.from(parseUuid(deviceId)).toString('base64url');
    return `v1.${id}.${this.#mac(tenantId, id).toString('base64url')}`;
  }

  verify(tenantId: string, value: string | undefined): DeviceVerdict {
    if (value === undefined || value === '') return { status: 'absent' };
    const [version, id, mac, ...rest] = value.split('.');
    if (version !== 'v1' || !id || !mac || rest.length > 0) return { status: 'invalid' };
    const presented = Buffer.from(mac, 'base64url');
    const expected = this.#mac(tenantId, id);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return { status: 'invalid' };
    const bytes = Buffer.from(id, 'base64url');
    if (bytes.length !== 16) return { status: 'invalid' };
    return { status: 'valid', deviceId: uuidString(bytes) };
  }

  #mac(tenantId: string, id: string): Buffer {
    return createHmac('sha256', this.#key).update(`v1\0${tenantId}\0${id}`).digest();
  }
}
