#!/usr/bin/env node
/**
 * scan-office-station: the program on the PC next to a document scanner. It watches the scanner's hot folder and
 * sends each complete packet to the scan office service (see cli.ts for the options, README "Station agent").
 * A separate program: it shares only domain rules and image helpers with the service.
 */
import { runCli } from './cli.js';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    // Stop between steps: the journal holds every acknowledged step, so whatever was cut short resumes later.
    controller.abort();
  });

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stop: controller.signal,
  });
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
