import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Page } from '../domain/types.js';

/**
 * The Lua scripts behind every compare-and-set in Redis, one file each under ./lua (common.lua is prepended to all:
 * it decodes the named arguments and holds the shared helpers). Each is registered once per connection with
 * `defineCommand` (EVALSHA, falling back to EVAL once after a Redis restart) and called through `runScript`, which
 * takes the keys by name and the arguments as one typed object.
 */

/** A sealed protocol entry as the scripts append it: its JSON, its hash and its sequence number. */
export type ScriptEntry = { json: string; hash: string; seq: string };
type ProtocolGuard = { expectedHead: string; genesis: string; entry: ScriptEntry };

type Scripts = {
  createPacket: {
    keys: 'packet' | 'trackingCode' | 'packets' | 'stationPackets' | 'active' | 'earlier';
    args: { packetId: string; earlierId: string; fields: Record<string, string>; score: number };
  };
  putPage: { keys: 'packet' | 'pages' | 'runs'; args: { n: number; sha256: string; page: string } };
  deletePage: { keys: 'packet' | 'pages'; args: { n: number } };
  addDocument: {
    keys: 'packet' | 'pages' | 'runs' | 'documents';
    args: { sha256: string; document: string; pages: Page[]; at?: number; at_time: string; maxPages: number };
  };
  reorderPages: {
    keys: 'packet' | 'pages' | 'runs';
    args: { order: Array<{ n: number; sha256: string }>; at: string };
  };
  submit: { keys: 'packet' | 'pages'; args: { pages: number; at: string; sources: string[] } };
  transition: {
    keys: 'packet';
    args: { to: string; sources: string[]; fields: Record<string, string> };
  };
  updatePage: {
    keys: 'pages';
    args: { n: number; sha256: string; run: number; sources: string[]; fields: Record<string, unknown> };
  };
  requeuePage: {
    keys: 'pages' | 'runs';
    args: { n: number; sha256: string; run: number; sources: string[]; at: string; queuedAt?: string };
  };
  retry: { keys: 'packet' | 'pages' | 'runs'; args: { at: string } };
  requeueBundle: { keys: 'packet'; args: { run: number; sources: string[]; at: string } };
  requeueReady: { keys: 'packet' | 'readyQueue' | 'wake'; args: { packetId: string; score: string } };
  markReady: {
    keys: 'packet' | 'readyQueue' | 'wake';
    args: { packetId: string; readyAt: string; score: string; pdf: string; sources: string[] };
  };
  assign: {
    keys: 'packet' | 'registrar' | 'readyQueue' | 'protocol' | 'head';
    args: ProtocolGuard & { packetId: string; registrarId: string; at: string; sources: string[] };
  };
  decide: {
    keys: 'packet' | 'registrar' | 'protocol' | 'head' | 'wake' | 'active';
    args: ProtocolGuard & {
      packetId: string;
      registrarId: string;
      outcome: string;
      note: string;
      at: string;
      sources: string[];
    };
  };
  release: {
    keys: 'packet' | 'registrar' | 'readyQueue' | 'exclusions' | 'protocol' | 'head' | 'wake';
    args: ProtocolGuard & {
      packetId: string;
      registrarId: string;
      exclusion: string;
      registrarStatus: '' | 'away' | 'removed';
      queuedFor: string;
      score: string;
      sources: string[];
      /** ms since epoch, or '' when the release is no recusal. */
      cooldownUntil: string;
      /** The exclusion hashes of the other waiting packets a recusal excludes him from. */
      alsoExcludedKeys: string[];
    };
  };
  setRegistrarStatus: {
    keys: 'registrar' | 'wake' | 'protocol' | 'head';
    args: ProtocolGuard & { status: 'free' | 'away'; afterPacket: boolean };
  };
  takeOutOfPool: {
    keys: 'registrar' | 'protocol' | 'head';
    args: ProtocolGuard & { status: 'away' | 'removed'; afterPacket: boolean };
  };
};
export type ScriptName = keyof Scripts;

/** Keys in the order Redis receives them (KEYS[1], KEYS[2], …), as each script's header names them. */
const SCRIPT_KEYS: { [N in ScriptName]: ReadonlyArray<Scripts[N]['keys']> } = {
  createPacket: ['packet', 'trackingCode', 'packets', 'stationPackets', 'active', 'earlier'],
  putPage: ['packet', 'pages', 'runs'],
  deletePage: ['packet', 'pages'],
  reorderPages: ['packet', 'pages', 'runs'],
  addDocument: ['packet', 'pages', 'runs', 'documents'],
  submit: ['packet', 'pages'],
  transition: ['packet'],
  updatePage: ['pages'],
  requeuePage: ['pages', 'runs'],
  retry: ['packet', 'pages', 'runs'],
  requeueBundle: ['packet'],
  requeueReady: ['packet', 'readyQueue', 'wake'],
  markReady: ['packet', 'readyQueue', 'wake'],
  assign: ['packet', 'registrar', 'readyQueue', 'protocol', 'head'],
  decide: ['packet', 'registrar', 'protocol', 'head', 'wake', 'active'],
  release: ['packet', 'registrar', 'readyQueue', 'exclusions', 'protocol', 'head', 'wake'],
  setRegistrarStatus: ['registrar', 'wake', 'protocol', 'head'],
  takeOutOfPool: ['registrar', 'protocol', 'head'],
};

const fileOf = (name: ScriptName) => `${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}.lua`;
const readLua = (file: string) => readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
const commandOf = (name: ScriptName) => `scanOffice_${name}`;

const registered = new WeakSet<Redis>();

/** Defines every script on this connection (once; later calls are no-ops). */
export function registerScripts(redis: Redis): void {
  if (registered.has(redis)) return;
  const common = readLua('common.lua');
  for (const name of Object.keys(SCRIPT_KEYS) as ScriptName[]) {
    redis.defineCommand(commandOf(name), {
      numberOfKeys: SCRIPT_KEYS[name].length,
      lua: `${common}\n${readLua(fileOf(name))}`,
    });
  }
  registered.add(redis);
}

/** Runs one script; the reply's shape is the script's own (see its file). */
export function runScript<N extends ScriptName, Reply>(
  redis: Redis,
  name: N,
  keys: Record<Scripts[N]['keys'], string>,
  args: Scripts[N]['args'],
): Promise<Reply> {
  registerScripts(redis);
  const command = (redis as unknown as Record<string, (...values: string[]) => Promise<Reply>>)[
    commandOf(name)
  ]!;
  return command.call(redis, ...SCRIPT_KEYS[name].map((key) => keys[key]), JSON.stringify(args));
}
