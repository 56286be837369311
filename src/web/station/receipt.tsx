import { useEffect, useState } from 'preact/hooks';
import qrcode from 'qrcode-generator';
import { api } from '../shared/api';
import { formatDate, type Lang } from '../shared/i18n';
import type { StationTranslate } from './messages';

type Receipt = {
  office: string;
  ticket: string;
  service: { slug: string; names: Record<Lang, string> };
  submittedAt: string;
  pageCount: number;
  trackingCode: string;
  trackingUrl: string;
};
type Layout = 'a6' | 'roll';
const LAYOUT_KEY = 'scan-office-receipt-layout';
/** The blank margin a QR code needs around it to be found, in modules. */
const QUIET_ZONE = 4;

/** A QR code as SVG paths (no canvas, no inline styles): crisp on any printer. */
function QrCode({ text, label }: { text: string; label: string }) {
  const code = qrcode(0, 'M');
  code.addData(text);
  code.make();
  const modules = code.getModuleCount();
  let path = '';
  for (let row = 0; row < modules; row++)
    for (let column = 0; column < modules; column++)
      if (code.isDark(row, column)) path += `M${column + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`;
  const side = modules + 2 * QUIET_ZONE;
  return (
    <svg
      class="qr"
      role="img"
      aria-label={label}
      viewBox={`0 0 ${side} ${side}`}
      shape-rendering="crispEdges"
    >
      <rect width={side} height={side} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

/**
 * The citizen's receipt: printable as A6 or on an 80 mm receipt roll (print CSS), with the tracking code large and
 * a QR code of the status page's address. Nothing on it names a registrar.
 */
export function ReceiptView(props: {
  packetId: string;
  t: StationTranslate;
  lang: Lang;
  onNext: () => void;
}) {
  const { t, lang } = props;
  const [receipt, setReceipt] = useState<Receipt | undefined>();
  const [layout, setLayout] = useState<Layout>(() =>
    globalThis.localStorage?.getItem(LAYOUT_KEY) === 'roll' ? 'roll' : 'a6',
  );
  useEffect(() => {
    void api
      .GET('/v1/packets/{id}/receipt', { params: { path: { id: props.packetId } } })
      .then(({ data }) => setReceipt(data));
  }, [props.packetId]);
  useEffect(() => {
    globalThis.localStorage?.setItem(LAYOUT_KEY, layout);
  }, [layout]);
  if (!receipt) return null;
  return (
    <section aria-labelledby="receipt-title" class="receipt-area">
      <div class="receipt" data-layout={layout}>
        <p class="receipt-office">{receipt.office}</p>
        <h2 id="receipt-title">{t('receipt.title')}</h2>
        <dl>
          <dt>{t('receipt.ticket')}</dt>
          <dd>{receipt.ticket}</dd>
          <dt>{t('receipt.service')}</dt>
          <dd>{receipt.service.names[lang]}</dd>
          <dt>{t('receipt.date')}</dt>
          <dd>{formatDate(receipt.submittedAt)}</dd>
          <dt>{t('receipt.pages')}</dt>
          <dd>{receipt.pageCount}</dd>
        </dl>
        <p class="receipt-code-label">{t('receipt.code')}</p>
        <p class="receipt-code" data-testid="tracking-code">
          {receipt.trackingCode}
        </p>
        <QrCode text={receipt.trackingUrl} label={t('receipt.qr')} />
        <p class="receipt-url">
          {t('receipt.howTo')} <span>{receipt.trackingUrl}</span>
        </p>
      </div>
      <div class="receipt-controls no-print">
        <fieldset>
          <legend>{t('receipt.layout')}</legend>
          {(['a6', 'roll'] as const).map((value) => (
            <label key={value} class="inline">
              <input
                type="radio"
                name="layout"
                value={value}
                checked={layout === value}
                onChange={() => setLayout(value)}
              />{' '}
              {t(`receipt.layout.${value}`)}
            </label>
          ))}
        </fieldset>
        <button type="button" class="primary" onClick={() => window.print()}>
          {t('receipt.print')}
        </button>{' '}
        <button type="button" onClick={props.onNext}>
          {t('receipt.next')}
        </button>
      </div>
    </section>
  );
}
