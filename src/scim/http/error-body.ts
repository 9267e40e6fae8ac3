/**
 * Maps anything thrown to the SCIM Error schema (RFC 7644 §3.12): ScimErrors as they are, the core's
 * errors to the status and scimType the RFC assigns. 5xx never leak detail.
 */
import { toAppError } from '../../http/errors.ts';
import { AttributeConflict, UnknownMember, VersionMismatch } from '../../identity/provisioning-errors.ts';
import { AppError, Conflict, InvalidInput } from '../../lib/errors.ts';
import { ScimError } from '../errors.ts';
import { URN } from '../registry/urns.ts';

export interface ScimErrorBody {
  readonly schemas: readonly string[];
  readonly status: string;
  readonly scimType?: string;
  readonly detail: string;
}

export function toScimError(error: unknown): ScimError {
  if (error instanceof ScimError) return error;
  if (error instanceof VersionMismatch) return new ScimError(412, undefined, error.message, { cause: error });
  if (error instanceof AttributeConflict) return new ScimError(400, 'mutability', error.message, { cause: error });
  if (error instanceof UnknownMember) return new ScimError(400, 'invalidValue', error.message, { cause: error });
  if (error instanceof Conflict) return new ScimError(409, 'uniqueness', error.message, { cause: error });
  // express could not decode a path parameter (bad percent-encoding).
  if (error instanceof URIError) return new ScimError(400, 'invalidSyntax', 'the path is not valid percent-encoding', { cause: error });
  const type = (error as { type?: unknown }).type;
  if (type === 'entity.parse.failed') return new ScimError(400, 'invalidSyntax', 'the body is not valid JSON', { cause: error });
  const e: AppError = toAppError(error);
  if (e instanceof InvalidInput) return new ScimError(400, 'invalidValue', e.message, { cause: error });
  return new ScimError(e.status, undefined, e.expose ? e.message : 'internal server error', { cause: error, expose: e.expose });
}

export function errorBody(e: ScimError): ScimErrorBody {
  return {
    schemas: [URN.error],
    status: String(e.status),
    ...(e.scimType && { scimType: e.scimType }),
    detail: e.expose ? e.message : 'internal server error',
  };
}
