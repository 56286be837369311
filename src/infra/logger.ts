import { createRequire } from 'node:module';
import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths that may hold secrets or document text; pino replaces them before a line is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'token',
  '*.token',
  'adminToken',
  '*.adminToken',
  'text',
  '*.text',
];

const prettyAvailable = () => {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
};

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Pretty lines for a person at a terminal; JSON lines everywhere else (containers, CI, log shippers).
    ...(process.stdout.isTTY && prettyAvailable()
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  };
}

export const createLogger = (level: string): Logger => pino(loggerOptions(level));
