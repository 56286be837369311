/** The one error type that reaches the wire as `{"error":{"code","message"}}`. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(409, code, message, details);

/** A dependency (Redis, S3) did not answer; the client may retry. */
export class DependencyUnavailableError extends AppError {
  constructor(
    readonly dependency: 'redis' | 's3',
    cause: unknown,
  ) {
    super(
      503,
      'unavailable',
      `${dependency === 'redis' ? 'Database' : 'Object storage'} is unavailable, retry later`,
    );
    this.cause = cause;
  }
}
