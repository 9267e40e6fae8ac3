/**
 * The key-encryption key (KEK). In production it comes from PORTCULLIS_MASTER_KEY; on a development
 * machine without one, a key is generated into DATA_DIR with a loud warning, so `npm start` works bare.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MasterKey {
  /** Short fingerprint stored beside every wrapped data key, so that rotation knows which KEK wrapped it. */
  readonly kid: string;
  readonly key: Uint8Array;
}

export function masterKeyFrom(base64: string): MasterKey {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new TypeError('PORTCULLIS_MASTER_KEY must be 32 bytes, base64-encoded');
  const kid = createHash('sha256').update(key).digest('base64url').slice(0, 16);
  return { kid, key: new Uint8Array(key) };
}

export interface LoadedMasterKey {
  readonly masterKey: MasterKey;
  /** Set when the key was read from or written to the dev key file (callers warn about it). */
  readonly devFile?: string;
  readonly generated: boolean;
}

export function loadMasterKey(configured: string | undefined, dataDir: string): LoadedMasterKey {
  if (configured) return { masterKey: masterKeyFrom(configured), generated: false };
  const file = join(dataDir, 'master.key');
  if (existsSync(file)) {
    return { masterKey: masterKeyFrom(readFileSync(file, 'utf8').trim()), devFile: file, generated: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const value = randomBytes(32).toString('base64');
  writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
  return { masterKey: masterKeyFrom(value), devFile: file, generated: true };
}
