import { useEffect, useState } from 'preact/hooks';
import { api } from '../shared/api';
import type { Directory } from './directory';
import type { AdminTranslate } from './messages';

type Report = NonNullable<Awaited<ReturnType<typeof fetchFairness>>>;
type ServiceReport = Report['services'][number];

const fetchFairness = async () => (await api.GET('/v1/audit/fairness')).data;

const CHART = { width: 640, label: 170, row: 30, top: 10, axis: 26, right: 20 };
const pValue = new Intl.NumberFormat('uk-UA', { maximumSignificantDigits: 3 });
const count = new Intl.NumberFormat('uk-UA', { maximumFractionDigits: 1 });

/** Ticks at round steps from 0 to at least `max`. */
function ticksUpTo(max: number): number[] {
  const rough = Math.max(1, max) / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough) ?? rough;
  const ticks: number[] = [0];
  for (let value = step; ticks.at(-1)! < max || ticks.length < 2; value += step)
    ticks.push(Number(value.toFixed(6)));
  return ticks;
}

/**
 * One service's draws as a chart: per registrar the 95 % band a fair draw stays in, the expected count (a tick) and
 * the received count (a dot, hollow and red when outside the band). The table after it carries the same numbers
 * for screen readers and for copying.
 */
function FairnessChart({
  t,
  report,
  name,
}: {
  t: AdminTranslate;
  report: ServiceReport;
  name: (id: string) => string;
}) {
  const rows = report.registrars;
  const ticks = ticksUpTo(Math.max(...rows.map((row) => Math.max(row.high, row.received))));
  const max = ticks.at(-1)!;
  const plot = CHART.width - CHART.label - CHART.right;
  const x = (value: number) => CHART.label + (value / max) * plot;
  const height = CHART.top + rows.length * CHART.row + CHART.axis;
  const titleId = `chart-${report.service}`;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${CHART.width} ${height}`}
      role="img"
      aria-labelledby={titleId}
      data-service={report.service}
    >
      <title id={titleId}>{t('fairness.chart', { name: report.service })}</title>
      {ticks.map((tick) => (
        <g key={tick}>
          <line x1={x(tick)} x2={x(tick)} y1={CHART.top} y2={height - CHART.axis} class="grid" />
          <text x={x(tick)} y={height - 8} text-anchor="middle">
            {tick}
          </text>
        </g>
      ))}
      {rows.map((row, i) => {
        const y = CHART.top + i * CHART.row + CHART.row / 2;
        const inside = row.received >= row.low && row.received <= row.high;
        return (
          <g key={row.registrarId} data-registrar={row.registrarId}>
            <text x={CHART.label - 8} y={y + 5} text-anchor="end">
              {name(row.registrarId)}
            </text>
            <rect
              x={x(row.low)}
              y={y - 7}
              width={Math.max(1, x(row.high) - x(row.low))}
              height={14}
              class="band"
            />
            <line x1={x(row.expected)} x2={x(row.expected)} y1={y - 10} y2={y + 10} class="expected" />
            <circle cx={x(row.received)} cy={y} r={6} class={inside ? 'received' : 'received outside'} />
          </g>
        );
      })}
    </svg>
  );
}

export function FairnessView({ t, directory }: { t: AdminTranslate; directory: Directory }) {
  const [report, setReport] = useState<Report | undefined>();
  useEffect(() => {
    void fetchFairness().then(setReport);
  }, []);
  if (!report) return null;
  return (
    <>
      <p>{t('fairness.lead')}</p>
      {report.services.length === 0 && <p>{t('fairness.none')}</p>}
      {report.services.map((service) => {
        const name = directory.serviceName(service.service);
        return (
          <section key={service.service} aria-labelledby={`fairness-${service.service}`} class="card">
            <h3 id={`fairness-${service.service}`}>
              {service.pValue === null
                ? t('fairness.serviceNoP', { name, draws: service.draws })
                : t('fairness.service', { name, draws: service.draws, p: pValue.format(service.pValue) })}
            </h3>
            <FairnessChart t={t} report={service} name={directory.registrarName} />
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('fairness.registrar')}</th>
                  <th scope="col">{t('fairness.received')}</th>
                  <th scope="col">{t('fairness.expected')}</th>
                  <th scope="col">{t('fairness.interval')}</th>
                </tr>
              </thead>
              <tbody>
                {service.registrars.map((row) => (
                  <tr key={row.registrarId}>
                    <th scope="row">{directory.registrarName(row.registrarId)}</th>
                    <td>
                      {row.received}
                      {(row.received < row.low || row.received > row.high) && (
                        <strong class="warning"> · {t('fairness.outside')}</strong>
                      )}
                    </td>
                    <td>{count.format(row.expected)}</td>
                    <td>
                      {count.format(row.low)}–{count.format(row.high)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        );
      })}
    </>
  );
}
