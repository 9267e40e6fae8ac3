/**
 * SCIM errors (RFC 7644 §3.12): an AppError with the `scimType` the RFC assigns. Services throw these (or
 * the core's AppErrors, mapped in http/error-handler.ts); the body is always the SCIM Error schema.
 * @see https://www.rfc-editor.org/rfc/rfc7644#section-3.12
 */
import { AppError, type AppErrorOptions } from '../lib/errors.ts';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends AppError {
  readonly scimType: ScimType | undefined;

  constructor(status: number, scimType: ScimType | undefined, message: string, options?: AppErrorOptions) {
    super(scimType ?? `scim_${status}`, status, message, options);
    this.scimType = scimType;
  }
}

export const invalidFilter = (message: string, options?: AppErrorOptions): ScimError => new ScimError(400, 'invalidFilter', message, options);
export const invalidValue = (message: string, options?: AppErrorOptions): ScimError => new ScimError(400, 'invalidValue', message, options);
export const invalidSyntax = (message: string, options?: AppErrorOptions): ScimError => new ScimError(400, 'invalidSyntax', message, options);
export const invalidPath = (message: string): ScimError => new ScimError(400, 'invalidPath', message);
export const noTarget = (message: string): ScimError => new ScimError(400, 'noTarget', message);
export const mutability = (message: string): ScimError => new ScimError(400, 'mutability', message);
export const uniqueness = (message: string): ScimError => new ScimError(409, 'uniqueness', message);
export const notFound = (message = 'no such resource'): ScimError => new ScimError(404, undefined, message);
export const preconditionFailed = (message = 'the resource has changed (If-Match does not match meta.version)'): ScimError =>
  new ScimError(412, undefined, message);
export const tooLarge = (message: string): ScimError => new ScimError(413, undefined, message);
