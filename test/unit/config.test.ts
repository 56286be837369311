import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('gives a working embedded setup with no variables at all', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ role: 'all', port: 8080, host: '127.0.0.1' });
    expect(config.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      explicit: false,
      prefix: 'scan',
      commandTimeoutMs: 5000,
    });
    expect(config.s3.endpoint).toBeUndefined();
    expect(config.limits.maxPagesPerPacket).toBe(500);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ S3_ENDPOINT: '', PORT: '' }).port).toBe(8080);
    expect(loadConfig({ PUBLIC_BASE_URL: '' }).office.publicBaseUrl).toBeUndefined();
  });

  it('takes an http(s) base URL for citizens, nothing else', () => {
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://cnap.example.gov.ua' }).office.publicBaseUrl).toBe(
      'https://cnap.example.gov.ua',
    );
    for (const bad of ['ftp://cnap.example', 'cnap.example.gov.ua', 'https://cnap.example/?a=1'])
      expect(() => loadConfig({ PUBLIC_BASE_URL: bad }), bad).toThrow(/PUBLIC_BASE_URL/);
  });

  it('reads typed values', () => {
    const config = loadConfig({
      PORT: '9000',
      REDIS_URL: 'redis://redis:6379/2',
      S3_ENDPOINT: 'minio',
      S3_PORT: '9000',
      S3_USE_SSL: 'true',
      S3_ACCESS_KEY: 'a',
      S3_SECRET_KEY: 'b',
      MAX_PAGE_BYTES: '1000',
    });
    expect(config.port).toBe(9000);
    expect(config.redis.explicit).toBe(true);
    expect(config.s3).toMatchObject({ endpoint: 'minio', port: 9000, useSsl: true });
    expect(config.limits.maxPageBytes).toBe(1000);
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({
        PORT: 'x',
        MAX_PAGE_BYTES: '-5',
        REDIS_URL: 'http://nope',
        ROLE: 'boss',
        ADMIN_TOKEN: 'short',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      for (const name of ['PORT', 'MAX_PAGE_BYTES', 'REDIS_URL', 'ROLE', 'ADMIN_TOKEN'])
        expect(message).toContain(name);
    }
  });

  it('requires S3 credentials with an external endpoint', () => {
    expect(() => loadConfig({ S3_ENDPOINT: 'minio' })).toThrow(/S3_ACCESS_KEY and S3_SECRET_KEY/);
  });
});
