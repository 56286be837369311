import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const ADMIN_TOKEN_FILE = 'admin-token';

/** Returns ADMIN_TOKEN when configured; otherwise the one kept in DATA_DIR, generating it on first start. */
export async function resolveAdminToken(
  configured: string | undefined,
  dataDir: string,
): Promise<{ token: string; source: 'env' | 'file' | 'generated' }> {
  if (configured) return { token: configured, source: 'env' };
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return { token: stored, source: 'file' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const token = `adm_${randomBytes(32).toString('base64url')}`;
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, source: 'generated' };
}
