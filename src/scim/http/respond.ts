/** Writing SCIM responses: application/scim+json, the weak ETag of the resource when there is one. */
import type { Response } from 'express';
import { etagOf } from '../resource/render.ts';

export const SCIM_MEDIA_TYPE = 'application/scim+json';

export function send(res: Response, status: number, body: unknown, version?: string): void {
  if (version !== undefined) res.setHeader('ETag', etagOf(version));
  res.status(status).type(SCIM_MEDIA_TYPE).send(JSON.stringify(body));
}

/**
 * The version an If-Match header pins (RFC 7232 §3.1 with SCIM's weak ETags): undefined for none or `*`.
 * An entity tag that is not one of ours can never match: it pins an impossible version.
 */
export function pinnedVersion(ifMatch: string | undefined): string | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"(\d{1,19})"\s*$/.exec(ifMatch.split(',')[0] ?? '');
  return m?.[1] ?? '-1';
}

/** True when an If-None-Match header names the current version (RFC 7232 §3.2, weak comparison). */
export function notModified(ifNoneMatch: string | undefined, version: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => /^\s*(?:W\/)?"(\d{1,19})"\s*$/.exec(tag)?.[1] === version);
}
