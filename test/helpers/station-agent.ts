import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const STATION_AGENT_MAIN = path.join(ROOT, 'src/station-agent/main.ts');

export type AgentEvent = { time: string; event: string; message: string; packet?: string } & Record<
  string,
  unknown
>;

export type AgentProcess = {
  child: ChildProcess;
  /** Events so far (the agent runs with --json). */
  events: AgentEvent[];
  /** Everything it wrote, for failure messages. */
  output: () => string;
  /** Resolves with the first event (so far or to come) that matches. */
  waitForEvent(match: (event: AgentEvent) => boolean, what: string, timeoutMs?: number): Promise<AgentEvent>;
  /**
   * Sends `signal` the moment a matching event is read (in the same callback, not at the next poll), so that the
   * agent is caught at that step and not a few uploads later.
   */
  signalOn(match: (event: AgentEvent) => boolean, signal?: NodeJS.Signals): void;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exitCode: Promise<number | null>;
};

const running = new Set<ChildProcess>();

/** Kills every agent a test started and did not stop (a failed assertion leaves it watching its folder). */
export async function killStationAgents(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }),
  );
  running.clear();
}

/** Runs the station agent as its own process (through tsx), with `--json` so that tests can follow its events. */
export function startStationAgent(args: string[]): AgentProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', STATION_AGENT_MAIN, ...args, '--json'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: AgentEvent[] = [];
  const triggers: Array<{ match: (event: AgentEvent) => boolean; signal: NodeJS.Signals }> = [];
  let text = '';
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      let event: AgentEvent;
      try {
        event = JSON.parse(line) as AgentEvent;
      } catch {
        continue; // not an event (a stack trace): kept in the output only
      }
      events.push(event);
      for (let i = triggers.length - 1; i >= 0; i--) {
        const trigger = triggers[i]!;
        if (!trigger.match(event)) continue;
        child.kill(trigger.signal);
        triggers.splice(i, 1);
      }
    }
  });
  child.stderr?.on('data', (chunk) => {
    text += chunk;
  });
  running.add(child);
  const exited = once(child, 'exit').then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  return {
    child,
    events,
    output: () => text,
    async waitForEvent(match, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`agent exited (${child.exitCode ?? child.signalCode}) before ${what}:\n${text}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    signalOn(match, signal = 'SIGKILL') {
      triggers.push({ match, signal });
    },
    exitCode: exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
