import { useRef, useState } from 'preact/hooks';
import { csrfHeader } from '../shared/api';

export type UploadState = 'waiting' | 'uploading' | 'retrying' | 'done' | 'failed';
export type Upload = {
  id: string;
  n: number;
  name: string;
  state: UploadState;
  sent: number;
  total: number;
  /** Why the server refused the file (its error code and HTTP status). */
  refusal?: { code: string; status: number };
};

/** Waits between attempts after a network error or a 5xx/429: the office network or the API may be restarting. */
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];

const MEDIA_BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  webp: 'image/webp',
};

/** The file's image type: the browser's guess, else its extension (scanners' TIFFs often come without one). */
export function mediaTypeOf(file: File): string {
  if (file.type.startsWith('image/')) return file.type;
  const extension = file.name.split('.').pop()?.toLowerCase() ?? '';
  return MEDIA_BY_EXTENSION[extension] ?? (file.type || 'application/octet-stream');
}

/** Scanner files in the order of their names, numbers compared as numbers (scan2 before scan10). */
export const byName = (a: File, b: File) => a.name.localeCompare(b.name, undefined, { numeric: true });

class RetryableError extends Error {}

/** PUTs one file as a page; XMLHttpRequest rather than fetch, for upload progress. */
function send(url: string, file: File, onProgress: (sent: number, total: number) => void) {
  return new Promise<{ status: number; code: string }>((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', url);
    request.setRequestHeader('content-type', mediaTypeOf(file));
    request.setRequestHeader(...csrfHeader());
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total);
    request.onload = () => {
      let code = '';
      try {
        code = (JSON.parse(request.responseText) as { error?: { code?: string } }).error?.code ?? '';
      } catch {
        // not our JSON (a proxy's page): the status says enough
      }
      resolve({ status: request.status, code });
    };
    request.onerror = () => reject(new RetryableError('network'));
    request.ontimeout = () => reject(new RetryableError('timeout'));
    request.send(file);
  });
}

const identityOf = (file: File) => `${file.name}|${file.size}|${file.lastModified}`;

/**
 * The station's upload queue: files go up one at a time in the order given, each with its progress; network errors
 * and 5xx answers are retried with growing pauses; a file is never sent twice while it is queued or stored (a double
 * click or a second drop changes nothing).
 */
export function useUploads(packetId: string, onStored: () => void) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const queue = useRef<Array<{ upload: Upload; file: File; identity: string }>>([]);
  const pending = useRef(new Set<string>());
  const running = useRef(false);

  const update = (id: string, patch: Partial<Upload>) =>
    setUploads((list) => list.map((upload) => (upload.id === id ? { ...upload, ...patch } : upload)));

  const uploadOne = async ({ upload, file, identity }: (typeof queue.current)[number]) => {
    const url = `/v1/packets/${packetId}/pages/${upload.n}`;
    for (let attempt = 0; ; attempt++) {
      update(upload.id, { state: 'uploading', sent: 0 });
      try {
        const { status, code } = await send(url, file, (sent, total) => update(upload.id, { sent, total }));
        if (status === 429 || status >= 500) throw new RetryableError(String(status));
        if (status < 300) {
          update(upload.id, { state: 'done', sent: file.size });
          onStored();
        } else {
          pending.current.delete(identity);
          update(upload.id, { state: 'failed', refusal: { code, status } });
        }
        return;
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (!(error instanceof RetryableError) || delay === undefined) {
          pending.current.delete(identity);
          return update(upload.id, { state: 'failed', refusal: { code: 'network', status: 0 } });
        }
        update(upload.id, { state: 'retrying' });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  const pump = async () => {
    if (running.current) return;
    running.current = true;
    while (queue.current.length > 0) {
      await uploadOne(queue.current[0]!);
      queue.current.shift();
    }
    running.current = false;
  };

  /** Those of `files` not queued or stored already. */
  const fresh = (files: File[]) => files.filter((file) => !pending.current.has(identityOf(file)));

  /** Queues each file as its page number; files queued or stored already are left out. */
  const add = (files: Array<{ file: File; n: number }>) => {
    for (const { file, n } of files) {
      const identity = identityOf(file);
      if (pending.current.has(identity)) continue;
      pending.current.add(identity);
      const upload: Upload = {
        id: `${identity}|${Date.now()}`,
        n,
        name: file.name,
        state: 'waiting',
        sent: 0,
        total: file.size,
      };
      queue.current.push({ upload, file, identity });
      setUploads((list) => [...list, upload]);
    }
    void pump();
  };

  /** After pages were deleted or renumbered: stored files may be sent again; queued ones still may not. */
  const forgetStored = () => {
    pending.current = new Set(queue.current.map((item) => item.identity));
  };

  const busy = uploads.some((upload) => ['waiting', 'uploading', 'retrying'].includes(upload.state));
  return { uploads, add, fresh, busy, forgetStored };
}
