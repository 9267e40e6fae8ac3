/**
 * Makes every tenant request look as if it came to PUBLIC_URL: the Host, X-Forwarded-Host and
 * X-Forwarded-Proto headers are set from it before oidc-provider builds any URL or cookie. oidc-provider
 * derives endpoint URLs from the request, so a forged Host header would otherwise put an attacker's origin
 * into discovery documents (and into caches in front of us), and cookies' Secure flag would depend on how
 * the node was reached rather than on the public scheme.
 */
import type { RequestHandler } from 'express';

export function canonicalOrigin(publicUrl: string): RequestHandler {
  const origin = new URL(publicUrl);
  const proto = origin.protocol.replace(/:$/, '');
  return (req, _res, next) => {
    req.headers.host = origin.host;
    req.headers['x-forwarded-host'] = origin.host;
    req.headers['x-forwarded-proto'] = proto;
    next();
  };
}
