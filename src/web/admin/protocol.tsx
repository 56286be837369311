import { useEffect, useState } from 'preact/hooks';
import { api } from '../shared/api';
import { formatDate } from '../shared/i18n';
import { TableScroll } from '../shared/table-scroll';
import type { Directory } from './directory';
import type { AdminKey, AdminTranslate } from './messages';

type Entry = {
  seq: number;
  at: string;
  type: 'draw' | 'release' | 'decision' | 'status';
  packetId?: string;
  hash: string;
  chosen?: string;
  registrarId?: string;
  eligible?: string[];
  reason?: string;
  outcome?: string;
  status?: 'free' | 'away' | 'removed';
  afterPacket?: boolean;
};
type Verification = NonNullable<Awaited<ReturnType<typeof verify>>>;

const PAGE = 20;
const verify = async () => (await api.GET('/v1/audit/verify')).data;

/** The protocol, newest page first, with the chain recomputed by the server each time the section opens. */
export function ProtocolView({ t, directory }: { t: AdminTranslate; directory: Directory }) {
  const [verification, setVerification] = useState<Verification | undefined>();
  const [after, setAfter] = useState<number | undefined>();
  const [entries, setEntries] = useState<Entry[]>([]);
  useEffect(() => {
    void verify().then((result) => {
      setVerification(result);
      setAfter(Math.max(0, (result?.entries ?? 0) - PAGE));
    });
  }, []);
  useEffect(() => {
    if (after === undefined) return;
    void api
      .GET('/v1/audit/assignments', { params: { query: { after, limit: PAGE } } })
      .then(({ data }) => setEntries(((data?.entries ?? []) as Entry[]).slice().reverse()));
  }, [after]);
  if (!verification || after === undefined) return null;
  const total = verification.entries;
  const who = (entry: Entry) => directory.registrarName(entry.chosen ?? entry.registrarId ?? '');
  const detail = (entry: Entry) =>
    entry.type === 'draw'
      ? t('protocol.drawDetail', {
          count: entry.eligible?.length ?? 0,
          eligible: (entry.eligible ?? []).map(directory.registrarName).join(', '),
        })
      : entry.type === 'status'
        ? `${t(`status.${entry.status ?? 'away'}` as AdminKey)}${entry.afterPacket ? ` (${t('protocol.afterPacket')})` : ''}`
        : (entry.outcome ?? entry.reason ?? '');
  return (
    <>
      <p role="status" class={verification.ok ? 'ok' : 'problem'}>
        {verification.ok
          ? t('protocol.verify.ok', { entries: total })
          : t('protocol.verify.broken', { seq: verification.brokenAt, reason: verification.reason })}
      </p>
      {entries.length === 0 ? (
        <p>{t('protocol.empty')}</p>
      ) : (
        <>
          <TableScroll label={t('admin.protocol')}>
            <table class="protocol">
              <caption>{t('protocol.page', { from: after + 1, to: Math.min(total, after + PAGE) })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('protocol.seq')}</th>
                  <th scope="col">{t('protocol.at')}</th>
                  <th scope="col">{t('protocol.type')}</th>
                  <th scope="col">{t('protocol.packet')}</th>
                  <th scope="col">{t('protocol.registrar')}</th>
                  <th scope="col">{t('protocol.detail')}</th>
                  <th scope="col">{t('protocol.hash')}</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((entry) => (
                  <tr key={entry.seq}>
                    <th scope="row">{entry.seq}</th>
                    <td>{formatDate(entry.at)}</td>
                    <td>{t(`protocol.type.${entry.type}` as AdminKey)}</td>
                    <td>
                      <code>{entry.packetId}</code>
                    </td>
                    <td>{who(entry)}</td>
                    <td>{detail(entry)}</td>
                    <td>
                      <code title={entry.hash}>{entry.hash.slice(0, 12)}…</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          <div class="pager">
            <button type="button" disabled={after === 0} onClick={() => setAfter(Math.max(0, after - PAGE))}>
              {t('protocol.older')}
            </button>{' '}
            <button type="button" disabled={after + PAGE >= total} onClick={() => setAfter(after + PAGE)}>
              {t('protocol.newer')}
            </button>
          </div>
        </>
      )}
    </>
  );
}
