/** The SCIM surface's error mapper: every error is a SCIM Error body with application/scim+json. */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { errorBody, toScimError } from './error-body.ts';
import { send } from './respond.ts';

export function scimErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const e = toScimError(error);
    if (e.status >= 500) logger.error({ err: error, reqId: req.id }, 'SCIM request failed');
    if (res.headersSent) return;
    if (e.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="scim"');
    if (e.status === 413) res.setHeader('Connection', 'close');
    if (e.status === 503) res.setHeader('Retry-After', '5');
    send(res, e.status, errorBody(e));
  };
}
