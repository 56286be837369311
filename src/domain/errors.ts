/** A dependency (Redis, S3) did not answer; the work may be retried. The API answers 503 with Retry-After. */
export class DependencyUnavailableError extends Error {
  override name = 'DependencyUnavailableError';
  constructor(
    readonly dependency: 'redis' | 's3',
    cause: unknown,
  ) {
    super(`${dependency === 'redis' ? 'Database' : 'Object storage'} is unavailable, retry later`);
    this.cause = cause;
  }
}
