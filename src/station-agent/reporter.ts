/**
 * What the agent tells the people at the station: one line per event, naming the packet, in words (default) or
 * as one JSON object per line (`--json`, for a supervising program). Written straight to stdout, not through
 * pino: the words are for a person at a terminal and the JSON has its own stable shape.
 */

export type EventFields = Record<string, unknown> & { packet?: string };

export type Reporter = {
  /** `event` is a stable name (`page_sent`); `message` says the same in words. */
  emit(event: string, message: string, fields?: EventFields): void;
};

const clock = (date: Date) => date.toTimeString().slice(0, 8);

export function createReporter(
  json: boolean,
  write: (line: string) => void = (line) => process.stdout.write(line),
  now: () => Date = () => new Date(),
): Reporter {
  return {
    emit(event, message, fields = {}) {
      const time = now();
      if (json) write(`${JSON.stringify({ time: time.toISOString(), event, ...fields, message })}\n`);
      else write(`${clock(time)}  ${fields.packet ? `${fields.packet}  ` : ''}${message}\n`);
    },
  };
}

/** 1234567 → "1.2 MB": sizes as people read them. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export const formatSeconds = (ms: number) =>
  ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
