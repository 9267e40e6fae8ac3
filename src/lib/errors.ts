/**
 * The one error base class. `code` is stable for clients, `status` the HTTP status a surface maps it to,
 * `expose` whether the message may be shown (false for every 5xx), `cause` the underlying error.
 */
export interface AppErrorOptions {
  readonly cause?: unknown;
  readonly expose?: boolean;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;

  constructor(code: string, status: number, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.expose = options.expose ?? status < 500;
  }
}

export class InvalidInput extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('invalid_request', 400, message, options);
  }
}

export class NotFound extends AppError {
  constructor(message = 'not found', options?: AppErrorOptions) {
    super('not_found', 404, message, options);
  }
}

export class Conflict extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super('conflict', 409, message, options);
  }
}

export class Unauthorized extends AppError {
  constructor(message = 'authentication required', options?: AppErrorOptions) {
    super('unauthorized', 401, message, options);
  }
}

export class Forbidden extends AppError {
  constructor(message = 'not allowed', options?: AppErrorOptions) {
    super('forbidden', 403, message, options);
  }
}

export class TooLarge extends AppError {
  constructor(message = 'request body too large', options?: AppErrorOptions) {
    super('request_too_large', 413, message, options);
  }
}

export class TooManyRequests extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, message = 'too many requests', options?: AppErrorOptions) {
    super('too_many_requests', 429, message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class ServiceUnavailable extends AppError {
  constructor(message = 'service temporarily unavailable', options?: AppErrorOptions) {
    super('temporarily_unavailable', 503, message, { ...options, expose: true });
  }
}

/** True for the unique-violation of PostgreSQL (23505), whichever driver raised it. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '23505';
}
