import type { PDFDocumentProxy } from 'pdfjs-dist';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../shared/api';
import { formatDate } from '../shared/i18n';
import { DecisionDialog, HelpDialog, RecusalDialog } from './dialogs';
import type { DeskKey, DeskTranslate } from './messages';
import { highlight, openPdf, renderPage, search } from './pdf';

type Details = {
  packetId: string;
  ticket: string;
  service: string;
  submittedAt?: string;
  assignedAt?: string;
  pdf: { pages: number };
  pages: Array<{ n: number; ocrConfidence: number | null; warnings: string[] }>;
};
type Signature =
  | { valid: true; signer: string; signedAt: string; matchesRecord: boolean }
  | { valid: false; reason: string };

const ZOOM_STEP = 1.25;
let firstPagePainted = false;

/** Keys that move around the packet; none of them decides anything by itself (decisions need a confirmation). */
function useShortcuts(handlers: Record<string, () => void>) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (target.closest('input, textarea, select, dialog[open]')) return;
      const handler = handlers[event.key];
      if (!handler) return;
      event.preventDefault();
      handler();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });
}

/** The packet drawn for him: the signed PDF, what processing found per page, and the decision. */
export function PacketDesk(props: {
  packetId: string;
  t: DeskTranslate;
  onFinished: (message: string) => void;
}) {
  const { packetId, t } = props;
  const [details, setDetails] = useState<Details | undefined>();
  const [signature, setSignature] = useState<Signature | undefined>();
  const [pdf, setPdf] = useState<PDFDocumentProxy | undefined>();
  const [pageN, setPageN] = useState(1);
  const [scale, setScale] = useState<number | undefined>();
  const [rotation, setRotation] = useState(0);
  const [query, setQuery] = useState('');
  const [searched, setSearched] = useState<{ query: string; hits: Array<{ n: number; hits: number }> }>();
  const [ocr, setOcr] = useState<{ n: number; text: string; confidence: number } | undefined>();
  const [dialog, setDialog] = useState<'decide' | 'recuse' | 'help' | undefined>();
  // The page he reads comes first: thumbnails and the server's signature check (which reads the whole file) follow.
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!shown) return;
    void api
      .GET('/v1/registrar/packets/{id}/signature', { params: { path: { id: packetId } } })
      .then(({ data }) => data && setSignature(data));
  }, [shown, packetId]);
  const searchBox = useRef<HTMLInputElement>(null);
  const viewer = useRef<HTMLElement>(null);

  useEffect(() => {
    const params = { params: { path: { id: packetId } } };
    void api.GET('/v1/registrar/packets/{id}', params).then(({ data }) => data && setDetails(data));
    let opened: PDFDocumentProxy | undefined;
    void openPdf(`/v1/registrar/packets/${encodeURIComponent(packetId)}/pdf`).then((document) => {
      opened = document;
      setPdf(document);
    });
    return () => void opened?.destroy();
  }, [packetId]);

  useEffect(() => {
    setOcr(undefined);
    void api
      .GET('/v1/registrar/packets/{id}/pages/{n}/text', { params: { path: { id: packetId, n: pageN } } })
      .then(({ data }) => data && setOcr(data));
  }, [packetId, pageN]);

  const pages = pdf?.numPages ?? details?.pdf.pages ?? 0;
  const go = (n: number) => setPageN(Math.min(Math.max(1, n), Math.max(1, pages)));

  const runSearch = async (event?: Event) => {
    event?.preventDefault();
    if (!pdf) return;
    const hits = await search(pdf, query);
    setSearched({ query, hits });
    const first = hits.find((hit) => hit.n >= pageN) ?? hits[0];
    if (first) go(first.n);
  };

  useShortcuts({
    n: () => go(pageN + 1),
    PageDown: () => go(pageN + 1),
    p: () => go(pageN - 1),
    PageUp: () => go(pageN - 1),
    '/': () => searchBox.current?.focus(),
    d: () => setDialog('decide'),
    '?': () => setDialog('help'),
  });

  const fitWidth = async () => {
    if (!pdf || !viewer.current) return;
    const page = await pdf.getPage(pageN);
    const natural = page.getViewport({ scale: 1, rotation }).width;
    setScale(Math.max(0.25, (viewer.current.clientWidth - 24) / natural));
  };
  useEffect(() => {
    if (pdf && scale === undefined) void fitWidth();
  }, [pdf]);

  const pageInfo = details?.pages.find((page) => page.n === pageN);
  return (
    <div class="desk">
      <nav class="thumbs" aria-label={t('desk.pages')}>
        <h2 class="visually-hidden">{t('desk.pages')}</h2>
        <ol>
          {Array.from({ length: pages }, (_, i) => i + 1).map((n) => (
            <li key={n}>
              <button
                type="button"
                aria-current={n === pageN ? 'page' : undefined}
                aria-label={t('desk.pageN', { n })}
                onClick={() => go(n)}
              >
                {pdf && shown && <Thumbnail pdf={pdf} n={n} />}
                <span aria-hidden="true">{n}</span>
              </button>
            </li>
          ))}
        </ol>
      </nav>

      <section aria-labelledby="document-title">
        <h2 id="document-title" class="visually-hidden">
          {t('desk.document')}
        </h2>
        <div class="toolbar">
          <button type="button" onClick={() => go(pageN - 1)} disabled={pageN <= 1}>
            {t('desk.prev')}
          </button>
          <span aria-live="polite">{t('desk.pageOf', { n: pageN, total: pages })}</span>
          <button type="button" onClick={() => go(pageN + 1)} disabled={pageN >= pages}>
            {t('desk.next')}
          </button>
          <button
            type="button"
            onClick={() => setScale((s) => (s ?? 1) / ZOOM_STEP)}
            aria-label={t('desk.zoomOut')}
          >
            −
          </button>
          <button
            type="button"
            onClick={() => setScale((s) => (s ?? 1) * ZOOM_STEP)}
            aria-label={t('desk.zoomIn')}
          >
            +
          </button>
          <button type="button" onClick={fitWidth}>
            {t('desk.zoomFit')}
          </button>
          <button type="button" onClick={() => setRotation((r) => (r + 90) % 360)}>
            {t('desk.rotate')}
          </button>
          <search>
            <form onSubmit={runSearch}>
              <label for="search" class="visually-hidden">
                {t('desk.search')}
              </label>
              <input
                id="search"
                ref={searchBox}
                type="search"
                placeholder={t('desk.search')}
                value={query}
                onInput={(event) => setQuery((event.target as HTMLInputElement).value)}
              />
              <button type="submit">{t('desk.searchButton')}</button>
            </form>
          </search>
        </div>
        <p aria-live="polite" class="hint">
          {searched &&
            (searched.hits.length === 0
              ? t('desk.searchNone')
              : t('desk.searchHits', {
                  count: searched.hits.reduce((sum, hit) => sum + hit.hits, 0),
                  pages: searched.hits.map((hit) => hit.n).join(', '),
                }))}
        </p>
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus, or the keyboard cannot scroll it (WCAG 2.1.1) */}
        <section class="viewer" ref={viewer} tabIndex={0} aria-label={t('desk.document')}>
          {pdf && scale !== undefined && (
            <PageView
              pdf={pdf}
              n={pageN}
              scale={scale}
              rotation={rotation}
              query={searched?.query ?? ''}
              t={t}
              onRendered={() => setShown(true)}
            />
          )}
        </section>
      </section>

      <aside class="side" aria-label={t('desk.packet')}>
        {details && (
          <section aria-labelledby="packet-title">
            <h2 id="packet-title">{t('desk.packet')}</h2>
            <dl>
              <dt>{t('desk.ticket')}</dt>
              <dd>{details.ticket}</dd>
              <dt>{t('desk.service')}</dt>
              <dd>{details.service}</dd>
              {details.submittedAt && (
                <>
                  <dt>{t('desk.submitted')}</dt>
                  <dd>{formatDate(details.submittedAt)}</dd>
                </>
              )}
              {details.assignedAt && (
                <>
                  <dt>{t('desk.assigned')}</dt>
                  <dd>{formatDate(details.assignedAt)}</dd>
                </>
              )}
              <dt>{t('desk.pageCount')}</dt>
              <dd>{details.pdf.pages}</dd>
            </dl>
          </section>
        )}
        <section aria-labelledby="signature-title">
          <h3 id="signature-title">{t('desk.signature')}</h3>
          <p aria-live="polite" class={signature?.valid ? 'ok' : signature ? 'warning' : undefined}>
            {!signature && t('desk.signature.checking')}
            {signature?.valid &&
              t('desk.signature.valid', { signer: signature.signer, time: formatDate(signature.signedAt) })}
            {signature?.valid && !signature.matchesRecord && ` ${t('desk.signature.mismatch')}`}
            {signature && !signature.valid && t('desk.signature.invalid', { reason: signature.reason })}
          </p>
        </section>
        <section aria-labelledby="ocr-title">
          <h3 id="ocr-title">{t('desk.ocr', { n: pageN })}</h3>
          {pageInfo && (
            <ul>
              {pageInfo.ocrConfidence !== null && (
                <li>{t('desk.confidence', { value: Math.round(pageInfo.ocrConfidence) })}</li>
              )}
              {pageInfo.warnings.map((warning) => (
                <li key={warning} class="warning">
                  {t(`desk.warning.${warning}` as DeskKey)}
                </li>
              ))}
            </ul>
          )}
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: the text scrolls; focus lets the keyboard scroll it (WCAG 2.1.1) */}
          <section class="ocr-text" tabIndex={0} aria-labelledby="ocr-title">
            {ocr?.n === pageN ? ocr.text : '…'}
          </section>
        </section>
        <section class="actions">
          <button type="button" class="primary" onClick={() => setDialog('decide')}>
            {t('desk.decide')}
          </button>
          <button type="button" class="danger" onClick={() => setDialog('recuse')}>
            {t('desk.recuse')}
          </button>
          <button type="button" onClick={() => setDialog('help')} aria-keyshortcuts="?">
            {t('desk.shortcuts')}
          </button>
        </section>
      </aside>

      {dialog === 'decide' && details && (
        <DecisionDialog
          t={t}
          packetId={packetId}
          ticket={details.ticket}
          onClose={() => setDialog(undefined)}
          onDecided={() => props.onFinished(t('decision.done'))}
        />
      )}
      {dialog === 'recuse' && (
        <RecusalDialog
          t={t}
          packetId={packetId}
          onClose={() => setDialog(undefined)}
          onRecused={() => props.onFinished(t('recusal.done'))}
        />
      )}
      {dialog === 'help' && <HelpDialog t={t} onClose={() => setDialog(undefined)} />}
    </div>
  );
}

/** One page: the scan drawn to scale and turned as asked, its invisible words over it, search hits marked. */
function PageView(props: {
  pdf: PDFDocumentProxy;
  n: number;
  scale: number;
  rotation: number;
  query: string;
  t: DeskTranslate;
  onRendered: () => void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const textHost = useRef<HTMLDivElement>(null);
  const [rendered, setRendered] = useState(0);
  useEffect(() => {
    // Moving on (another page, zoom, turn) cancels the drawing in progress, so two drawings never mix.
    const moving = new AbortController();
    void (async () => {
      const page = await props.pdf.getPage(props.n);
      if (moving.signal.aborted || !canvas.current || !frame.current || !textHost.current) return;
      const target = { canvas: canvas.current, frame: frame.current, textHost: textHost.current };
      if (!(await renderPage(page, target, props.scale, props.rotation, moving.signal))) return;
      if (!firstPagePainted) {
        firstPagePainted = true;
        performance.mark('desk:first-page-painted');
      }
      setRendered((count) => count + 1);
      props.onRendered();
    })();
    return () => moving.abort();
  }, [props.pdf, props.n, props.scale, props.rotation]);
  useEffect(() => {
    if (textHost.current) highlight(textHost.current, props.query);
  }, [props.query, rendered]);
  return (
    <div class="page" ref={frame} data-page={props.n}>
      <canvas ref={canvas} role="img" aria-label={props.t('desk.pageN', { n: props.n })} />
      <div ref={textHost} />
    </div>
  );
}

/** A small picture of a page, drawn once, for the page list. */
function Thumbnail({ pdf, n }: { pdf: PDFDocumentProxy; n: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const frame = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    void pdf.getPage(n).then((page) => {
      if (!canvas.current || !frame.current) return;
      const width = page.getViewport({ scale: 1 }).width;
      return renderPage(page, { canvas: canvas.current, frame: frame.current }, 110 / width, 0);
    });
  }, [pdf, n]);
  return (
    <span ref={frame} class="thumb">
      <canvas ref={canvas} />
    </span>
  );
}
