import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFile(path.join(ROOT, file), 'utf8');

type Service = {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  container_name?: string;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  stop_grace_period?: string;
};

async function compose() {
  const text = await read('docker-compose.yml');
  return { text, services: (parse(text, { merge: true }) as { services: Record<string, Service> }).services };
}

describe('docker-compose.yml', () => {
  it('has redis, minio, api, worker and dispatcher', async () => {
    const { services } = await compose();
    expect(Object.keys(services).sort()).toEqual(['api', 'dispatcher', 'minio', 'redis', 'worker']);
  });

  it('runs Redis with AOF fsynced before each answer, noeviction, a volume and a healthcheck', async () => {
    const { redis } = (await compose()).services;
    const command = (redis!.command as string[]).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--appendfsync always');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis!.volumes?.some((volume) => volume.endsWith(':/data'))).toBe(true);
    expect(redis!.healthcheck?.test).toContain('ping');
    expect(redis!.image).toMatch(/^redis:7[.\d]*-/);
  });

  it('runs MinIO with a volume, credentials from the environment and a healthcheck', async () => {
    const { minio } = (await compose()).services;
    expect(minio!.volumes?.some((volume) => volume.endsWith(':/data'))).toBe(true);
    expect(minio!.environment?.MINIO_ROOT_USER).toMatch(/^\$\{S3_ACCESS_KEY/);
    expect(minio!.environment?.MINIO_ROOT_PASSWORD).toMatch(/^\$\{S3_SECRET_KEY/);
    expect(minio!.healthcheck).toBeDefined();
  });

  it('gives each app service its role, shared settings, and healthy dependencies', async () => {
    const { services } = await compose();
    for (const [name, role] of [
      ['api', 'api'],
      ['worker', 'worker'],
      ['dispatcher', 'dispatcher'],
    ] as const) {
      const service = services[name]!;
      expect(service.environment?.ROLE).toBe(role);
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(service.environment?.S3_ENDPOINT).toBe('minio');
      expect(service.depends_on).toEqual({
        redis: { condition: 'service_healthy' },
        minio: { condition: 'service_healthy' },
      });
      expect(service.image).not.toMatch(/:latest$/);
    }
    expect(services.api!.ports).toEqual([`\${API_PORT:-8080}:8080`]);
  });

  it('lets workers scale: no ports, no container_name, 2 replicas, OCR concurrency from env, a long grace period', async () => {
    const { worker, dispatcher } = (await compose()).services;
    expect(worker!.ports).toBeUndefined();
    expect(worker!.container_name).toBeUndefined();
    expect(worker!.deploy?.replicas).toBe(2);
    expect(worker!.environment?.OCR_CONCURRENCY).toMatch(/^\$\{OCR_CONCURRENCY/);
    expect(Number.parseInt(worker!.stop_grace_period ?? '0', 10)).toBeGreaterThanOrEqual(60);
    expect(dispatcher!.deploy?.replicas).toBe(2);
    expect(dispatcher!.container_name).toBeUndefined();
  });

  it('names in .env.example every variable it interpolates, and every variable the README documents', async () => {
    const { text } = await compose();
    const example = await read('.env.example');
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));
    const used = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]));
    expect([...used].filter((name) => !documented.has(name))).toEqual([]);
    const readme = await read('README.md');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## API summary'));
    const readmeVariables = [...table.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]);
    expect(readmeVariables.length).toBeGreaterThan(30);
    expect(readmeVariables.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('commits no secrets: .env.example holds placeholders only, .env is ignored', async () => {
    const example = await read('.env.example');
    expect(example).toMatch(/^S3_SECRET_KEY=change-me/m);
    expect(example).toMatch(/^ADMIN_TOKEN=change-me/m);
    expect(await read('.gitignore')).toMatch(/^\.env$/m);
  });
});

describe('docker/Dockerfile', () => {
  async function dockerfile() {
    const parsed = DockerfileParser.parse(await read('docker/Dockerfile'));
    const instructions = parsed.getInstructions();
    const froms = parsed.getFROMs();
    const runtimeStart = instructions.indexOf(froms.at(-1)!);
    return { parsed, instructions, froms, runtime: instructions.slice(runtimeStart) };
  }
  const text = (instruction: { getTextContent(): string }) => instruction.getTextContent();

  it('is multi-stage on a pinned Node LTS slim image, never latest', async () => {
    const { froms, parsed } = await dockerfile();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const arg = parsed.getARGs().find((instruction) => text(instruction).includes('NODE_IMAGE'));
    expect(text(arg!)).toMatch(/NODE_IMAGE=node:(2[4-9]|[3-9]\d)[\w.-]*slim/);
    expect(await read('docker/Dockerfile')).not.toMatch(/:latest\b/);
  });

  it('runs with two malloc arenas, which keep a long packet’s bundle under its memory target', async () => {
    const { runtime } = await dockerfile();
    const envs = runtime.filter((instruction) => instruction.getKeyword() === 'ENV').map(text);
    expect(envs.some((env) => /\bMALLOC_ARENA_MAX=2\b/.test(env))).toBe(true);
  });

  it('builds with npm ci and ships production dependencies only', async () => {
    const { instructions, runtime } = await dockerfile();
    const runs = instructions.filter((instruction) => instruction.getKeyword() === 'RUN').map(text);
    expect(runs.some((run) => /\bnpm ci\b/.test(run))).toBe(true);
    expect(runs.some((run) => /npm prune --omit=dev/.test(run))).toBe(true);
    const copies = runtime.filter((instruction) => instruction.getKeyword() === 'COPY').map(text);
    expect(copies.some((copy) => copy.includes('--from=build') && copy.includes('node_modules'))).toBe(true);
    expect(
      runtime.some(
        (instruction) => instruction.getKeyword() === 'RUN' && /npm (ci|install)\b/.test(text(instruction)),
      ),
    ).toBe(false);
  });

  it('runs as a non-root user, with tini as PID 1, the traineddata checked inside, and a healthcheck', async () => {
    const { runtime } = await dockerfile();
    const users = runtime.filter((instruction) => instruction.getKeyword() === 'USER').map(text);
    expect(users.at(-1)).toMatch(/USER\s+(node|\d{4,})/);
    const entrypoint = runtime.find((instruction) => instruction.getKeyword() === 'ENTRYPOINT');
    expect(text(entrypoint!)).toContain('tini');
    const runs = runtime
      .filter((instruction) => instruction.getKeyword() === 'RUN')
      .map(text)
      .join('\n');
    for (const data of ['ukr.traineddata.gz', 'eng.traineddata.gz', 'osd.traineddata.gz'])
      expect(runs).toContain(data);
    const healthcheck = runtime.find((instruction) => instruction.getKeyword() === 'HEALTHCHECK');
    expect(text(healthcheck!)).toContain('healthcheck.mjs');
    expect(await read('docker/healthcheck.mjs')).toContain('/health/ready');
  });

  it('has a .dockerignore that keeps secrets, data and node_modules out of the build context', async () => {
    const ignore = (await read('.dockerignore')).split('\n');
    for (const entry of ['node_modules', 'data', '.env', '.git']) expect(ignore).toContain(entry);
  });
});
