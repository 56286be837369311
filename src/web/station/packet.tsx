import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorCode } from '../shared/api';
import type { Lang } from '../shared/i18n';
import type { StationKey, StationTranslate } from './messages';
import { ReceiptView } from './receipt';
import { byName, type Upload, useUploads } from './uploads';

type PageRow = {
  n: number;
  status: 'stored' | 'processing' | 'done' | 'failed';
  sha256: string;
  failure?: string;
  warnings: Array<'blank' | 'low_confidence' | 'strong_skew'>;
  processing?: {
    orientation: number;
    skewDeg: number;
    ocrConfidence: number | null;
    processedSha256: string;
  };
};
type PacketView = {
  id: string;
  ticket: string;
  service: string;
  status: string;
  failure?: string;
  rescanPages?: number[];
  pages: PageRow[];
};

const POLL_MS = 1500;
const number1 = new Intl.NumberFormat('uk-UA', { maximumFractionDigits: 1 });

/** One packet at the station: add, replace, move and delete pages while it is open, submit it, print the receipt. */
export function PacketWorkspace(props: {
  packetId: string;
  serviceName: (slug: string) => string;
  t: StationTranslate;
  lang: Lang;
  onChanged: () => void;
  onNext: () => void;
}) {
  const { t, packetId } = props;
  const [packet, setPacket] = useState<PacketView | undefined>();
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const [showReceipt, setShowReceipt] = useState(false);

  const refresh = async () => {
    const { data } = await api.GET('/v1/packets/{id}', { params: { path: { id: packetId } } });
    if (data) setPacket(data as PacketView);
  };
  const uploads = useUploads(packetId, () => void refresh());

  useEffect(() => {
    void refresh();
    const timer = setInterval(refresh, POLL_MS);
    return () => clearInterval(timer);
  }, [packetId]);

  if (!packet) return null;
  const rescan = packet.rescanPages;
  const editable = packet.status === 'open' && !rescan;
  const mayReplace = (page: PageRow) =>
    rescan ? rescan.includes(page.n) && ['open', 'failed'].includes(packet.status) : editable;
  const submittable = editable || (rescan !== undefined && packet.status === 'open');
  const pages = packet.pages;

  const addFiles = (files: File[]) => {
    const taken = [...pages.map((page) => page.n), ...uploads.uploads.filter(live).map((upload) => upload.n)];
    let next = Math.max(0, ...taken);
    uploads.add(uploads.fresh([...files].sort(byName)).map((file) => ({ file, n: ++next })));
  };

  const change = async (action: () => Promise<{ error?: unknown; response: Response }>) => {
    setBusy(true);
    setProblem('');
    const { error, response } = await action();
    setBusy(false);
    uploads.forgetStored();
    if (error) setProblem(response.status === 409 ? t('station.pagesChanged') : t('error.generic'));
    await refresh();
    props.onChanged();
  };
  const remove = (n: number) =>
    change(() => api.DELETE('/v1/packets/{id}/pages/{n}', { params: { path: { id: packetId, n } } }));
  const move = (index: number, by: -1 | 1) => {
    const order = pages.map(({ n, sha256 }) => ({ n, sha256 }));
    [order[index], order[index + by]] = [order[index + by]!, order[index]!];
    return change(() =>
      api.POST('/v1/packets/{id}/pages/order', { params: { path: { id: packetId } }, body: { order } }),
    );
  };

  const submit = async () => {
    if (uploads.busy) return setProblem(t('station.waitUploads'));
    setBusy(true);
    setProblem('');
    const { error } = await api.POST('/v1/packets/{id}/submit', {
      params: { path: { id: packetId } },
      body: { pages: pages.length },
    });
    setBusy(false);
    if (error) {
      const missing = (error as { error?: { missing?: number[] } }).error?.missing ?? [];
      return setProblem(
        errorCode(error) === 'pages_missing'
          ? t('station.pagesMissing', { pages: missing.join(', ') })
          : t('error.generic'),
      );
    }
    await refresh();
    props.onChanged();
    setShowReceipt(true);
  };

  if (showReceipt) return <ReceiptView packetId={packetId} t={t} lang={props.lang} onNext={props.onNext} />;

  return (
    <section aria-labelledby="packet-title">
      <h2 id="packet-title">{t('station.packetOf', { ticket: packet.ticket })}</h2>
      <p>
        {props.serviceName(packet.service)} ·{' '}
        <strong class="badge" data-status={packet.status}>
          {t(`station.status.${packet.status}` as StationKey)}
        </strong>
      </p>
      {packet.failure && packet.status === 'failed' && (
        <p class="problem" role="alert">
          {t('station.failed', { reason: packet.failure })}
        </p>
      )}
      {rescan && (
        <p class="warning" role="status">
          {t('station.rescanPages', { pages: rescan.join(', ') })}
        </p>
      )}
      {!editable && !submittable && !rescan && (
        <p role="status">
          {t('station.inProgress')}{' '}
          <button type="button" onClick={() => setShowReceipt(true)}>
            {t('station.showReceipt')}
          </button>
        </p>
      )}

      {editable && <DropZone t={t} onFiles={addFiles} />}
      {uploads.uploads.length > 0 && <UploadList t={t} uploads={uploads.uploads} />}

      <h3>{t('station.pages')}</h3>
      {pages.length === 0 ? (
        <p>{t('station.noPagesYet')}</p>
      ) : (
        <ol class="page-grid">
          {pages.map((page, index) => (
            <PageTile
              key={`${page.n}-${page.sha256}`}
              t={t}
              packetId={packetId}
              page={page}
              busy={busy}
              {...(editable && index > 0 ? { onMoveUp: () => move(index, -1) } : {})}
              {...(editable && index < pages.length - 1 ? { onMoveDown: () => move(index, 1) } : {})}
              {...(editable ? { onDelete: () => remove(page.n) } : {})}
              {...(mayReplace(page) ? { onReplace: (file: File) => uploads.add([{ file, n: page.n }]) } : {})}
            />
          ))}
        </ol>
      )}
      <p role="alert" class="problem">
        {problem}
      </p>
      {submittable && pages.length > 0 && (
        <button type="button" class="primary" disabled={busy} onClick={submit}>
          {t(rescan ? 'station.resubmit' : 'station.submit', { count: pages.length })}
        </button>
      )}
    </section>
  );
}

const live = (upload: Upload) => upload.state !== 'failed';

/** Drag-and-drop, a file picker for many files at once, and the camera where the browser has one. */
function DropZone({ t, onFiles }: { t: StationTranslate; onFiles: (files: File[]) => void }) {
  const [over, setOver] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const picked = (event: Event) => {
    const input = event.target as HTMLInputElement;
    onFiles([...(input.files ?? [])]);
    input.value = '';
  };
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: dropping is a pointer convenience; the buttons inside are the keyboard's way to the same files.
    <div
      class="dropzone"
      data-over={over}
      onDragOver={(event) => {
        event.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(event) => {
        event.preventDefault();
        setOver(false);
        onFiles([...(event.dataTransfer?.files ?? [])]);
      }}
    >
      <p id="drop-hint">{t('station.drop')}</p>
      <button
        type="button"
        class="primary"
        aria-describedby="drop-hint"
        onClick={() => picker.current?.click()}
      >
        {t('station.chooseFiles')}
      </button>{' '}
      <label class="button-like">
        {t('station.camera')}
        <input type="file" accept="image/*" capture="environment" class="visually-hidden" onChange={picked} />
      </label>
      <input
        ref={picker}
        type="file"
        multiple
        accept="image/jpeg,image/png,image/tiff,image/webp,.tif,.tiff"
        class="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        onChange={picked}
      />
    </div>
  );
}

function UploadList({ t, uploads }: { t: StationTranslate; uploads: Upload[] }) {
  return (
    <section aria-labelledby="uploads-title" class="uploads">
      <h3 id="uploads-title">{t('station.uploads')}</h3>
      <ul>
        {uploads.map((upload) => {
          const label = t('station.upload.progress', { n: upload.n, name: upload.name });
          return (
            <li key={upload.id} data-state={upload.state}>
              <span>{label}</span> <progress max={upload.total || 1} value={upload.sent} aria-label={label} />{' '}
              <span>
                {upload.state === 'failed'
                  ? t('station.upload.failed', { reason: uploadReason(t, upload) })
                  : t(`station.upload.${upload.state}`)}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

const UPLOAD_REASONS = new Set([
  'empty_body',
  'unsupported_media_type',
  'media_type_mismatch',
  'corrupt_image',
  'image_too_large',
  'implausible_page',
  'multi_page_image',
  'packet_not_open',
  'rescan_only',
]);

const uploadReason = (t: StationTranslate, upload: Upload) =>
  UPLOAD_REASONS.has(upload.refusal?.code ?? '')
    ? t(`upload.${upload.refusal!.code}` as StationKey)
    : t('upload.other', { status: upload.refusal?.status ?? 0 });

function PageTile(props: {
  t: StationTranslate;
  packetId: string;
  page: PageRow;
  busy: boolean;
  onMoveUp?: () => void;
  onMoveDown?: () => void;
  onDelete?: () => void;
  onReplace?: (file: File) => void;
}) {
  const { t, page } = props;
  const found = page.processing;
  const title = t('station.page', { n: page.n });
  return (
    <li class="tile" data-status={page.status} aria-label={title}>
      <div class="tile-image">
        {page.status === 'done' && found ? (
          <img
            src={`/v1/packets/${props.packetId}/pages/${page.n}/thumbnail?v=${found.processedSha256}`}
            alt={t('station.pageImage', { n: page.n })}
          />
        ) : (
          <p>{t(`station.page.${page.status === 'done' ? 'processing' : page.status}`)}</p>
        )}
      </div>
      <h4>{title}</h4>
      {found && (
        <ul class="tile-facts">
          {found.orientation !== 0 && <li>{t(`station.turned.${found.orientation as 90 | 180 | 270}`)}</li>}
          {Math.abs(found.skewDeg) >= 0.5 && (
            <li>{t('station.skew', { deg: number1.format(found.skewDeg) })}</li>
          )}
          {found.ocrConfidence !== null && (
            <li>{t('station.confidence', { value: Math.round(found.ocrConfidence) })}</li>
          )}
          {page.warnings.map((warning) => (
            <li key={warning} class="warning">
              {t(`station.warning.${warning}`)}
            </li>
          ))}
        </ul>
      )}
      {page.status === 'failed' && page.failure && <p class="problem">{page.failure}</p>}
      <div class="tile-actions">
        {(
          [
            ['↑', 'station.moveUp', 'station.moveUpLabel', props.onMoveUp],
            ['↓', 'station.moveDown', 'station.moveDownLabel', props.onMoveDown],
          ] as const
        ).map(
          ([arrow, text, label, onClick]) =>
            onClick && (
              <button
                key={text}
                type="button"
                disabled={props.busy}
                aria-label={t(label, { n: page.n })}
                onClick={onClick}
              >
                {arrow} {t(text)}
              </button>
            ),
        )}
        {props.onReplace && (
          <label class="button-like" data-urgent={page.status === 'failed'}>
            {t('station.replace')}
            <input
              type="file"
              accept="image/jpeg,image/png,image/tiff,image/webp,.tif,.tiff"
              class="visually-hidden"
              aria-label={t('station.replaceLabel', { n: page.n })}
              onChange={(event) => {
                const input = event.target as HTMLInputElement;
                const file = input.files?.[0];
                if (file) props.onReplace!(file);
                input.value = '';
              }}
            />
          </label>
        )}
        {props.onDelete && (
          <button
            type="button"
            class="danger"
            disabled={props.busy}
            aria-label={t('station.deleteLabel', { n: page.n })}
            onClick={props.onDelete}
          >
            {t('station.delete')}
          </button>
        )}
      </div>
    </li>
  );
}
