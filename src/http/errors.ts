/**
 * Error mappers, one per surface: JSON `{error, error_description}` for the admin API, an HTML page for
 * browsers. 5xx never leak detail. Body-parser and database-outage errors are mapped here too.
 */
import type { ErrorRequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/client.ts';
import { AppError, InvalidInput, ServiceUnavailable, TooLarge, TooManyRequests } from '../lib/errors.ts';
import type { Renderer } from './views.ts';

/** Normalises anything thrown into an AppError. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) return new InvalidInput('malformed request', { cause: error });
  const oidc = error as { error?: unknown; status?: unknown; error_description?: unknown; expose?: unknown };
  if (typeof oidc.error === 'string' && typeof oidc.status === 'number' && oidc.expose === true) {
    // An oidc-provider error (interactionDetails without a valid interaction cookie, expired flows, …).
    const description = typeof oidc.error_description === 'string' ? oidc.error_description : oidc.error;
    return new AppError(oidc.error, oidc.status, description, { cause: error });
  }
  if (isDatabaseUnavailable(error)) return new ServiceUnavailable(undefined, { cause: error });
  // PostgreSQL 22021 (character_not_in_repertoire): the request carried text it cannot store, such as a NUL
  // byte in a cursor, id or path segment. That is bad input, not a server fault.
  if ((error as { code?: unknown }).code === '22021') return new InvalidInput('the request holds characters that are not allowed', { cause: error });
  const type = (error as { type?: unknown }).type;
  if (type === 'entity.too.large') return new TooLarge(undefined, { cause: error });
  if (type === 'entity.parse.failed') return new InvalidInput('the request body is not valid JSON', { cause: error });
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new InvalidInput('unsupported body encoding', { cause: error });
  }
  if (typeof type === 'string' && type.startsWith('request.')) return new InvalidInput('malformed request body', { cause: error });
  return new AppError('server_error', 500, 'internal server error', { cause: error });
}

function setRetryAfter(res: Response, error: AppError): void {
  if (error instanceof TooManyRequests) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  if (error instanceof ServiceUnavailable) res.setHeader('Retry-After', '5');
}

export function jsonErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const e = toAppError(error);
    if (e.status >= 500) logger.error({ err: error, reqId: req.id }, 'request failed');
    if (res.headersSent) return;
    setRetryAfter(res, e);
    res.status(e.status).json({ error: e.code, error_description: e.expose ? e.message : 'internal server error' });
  };
}

export function pageErrorHandler(logger: Logger, render: Renderer): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const e = toAppError(error);
    if (e.status >= 500) logger.error({ err: error, reqId: req.id }, 'request failed');
    if (res.headersSent) return;
    setRetryAfter(res, e);
    res
      .status(e.status)
      .type('html')
      .send(
        render('error', {
          title: 'Something went wrong',
          error: e.code,
          description: e.expose ? e.message : 'An unexpected error occurred. Please try again.',
        }),
      );
  };
}
