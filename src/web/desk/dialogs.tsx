import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../shared/api';
import type { DeskTranslate } from './messages';

/** A modal dialog (the browser's own: focus stays inside, Escape closes), opened when it mounts. */
function Modal(props: { labelledBy: string; onClose: () => void; children: ComponentChildren }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current!;
    element.showModal();
    const closed = () => props.onClose();
    element.addEventListener('close', closed);
    return () => element.removeEventListener('close', closed);
  }, []);
  return (
    <dialog ref={dialog} aria-labelledby={props.labelledBy}>
      {props.children}
    </dialog>
  );
}

/** What went wrong (announced), then the way back and the dialog's one action. */
function DialogFooter(props: {
  problem: string;
  problemId?: string;
  backLabel: string;
  onBack: () => void;
  action: ComponentChildren;
}) {
  return (
    <>
      <p id={props.problemId} role="alert" class="problem">
        {props.problem}
      </p>
      <div class="dialog-buttons">
        <button type="button" onClick={props.onBack}>
          {props.backLabel}
        </button>
        {props.action}
      </div>
    </>
  );
}

/**
 * Deciding takes two steps: choose (a rejection needs its reason), then confirm on a second screen that says what
 * will happen. Enter in the first step only moves on; no single key press can decide a case.
 */
export function DecisionDialog(props: {
  t: DeskTranslate;
  packetId: string;
  ticket: string;
  onClose: () => void;
  onDecided: () => void;
}) {
  const { t } = props;
  const [outcome, setOutcome] = useState<'approved' | 'rejected' | undefined>();
  const [note, setNote] = useState('');
  const [step, setStep] = useState<'choose' | 'confirm'>('choose');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);

  const next = (event: Event) => {
    event.preventDefault();
    if (!outcome) return;
    if (outcome === 'rejected' && note.trim() === '') return setProblem(t('decision.noteRequired'));
    setProblem('');
    setStep('confirm');
  };
  const confirm = async () => {
    if (!outcome) return;
    setBusy(true);
    const { error } = await api.POST('/v1/registrar/packets/{id}/decision', {
      params: { path: { id: props.packetId } },
      body: { outcome, ...(note.trim() ? { note: note.trim() } : {}) },
    });
    setBusy(false);
    if (error) return setProblem(t('error.generic'));
    props.onDecided();
  };

  return (
    <Modal labelledBy="decision-title" onClose={props.onClose}>
      {step === 'choose' ? (
        <form onSubmit={next}>
          <h2 id="decision-title">{t('decision.title')}</h2>
          <fieldset>
            <legend>{t('decision.title')}</legend>
            {(['approved', 'rejected'] as const).map((value) => (
              <label key={value} class="inline">
                <input
                  type="radio"
                  name="outcome"
                  value={value}
                  required
                  checked={outcome === value}
                  onChange={() => setOutcome(value)}
                />{' '}
                {t(value === 'approved' ? 'decision.approve' : 'decision.reject')}
              </label>
            ))}
          </fieldset>
          <label for="note">{t('decision.note')}</label>
          <textarea
            id="note"
            maxLength={2000}
            value={note}
            aria-describedby="note-problem"
            onInput={(event) => setNote((event.target as HTMLTextAreaElement).value)}
          />
          <DialogFooter
            problem={problem}
            problemId="note-problem"
            backLabel={t('decision.cancel')}
            onBack={props.onClose}
            action={
              <button type="submit" class="primary" disabled={!outcome}>
                {t('decision.next')}
              </button>
            }
          />
        </form>
      ) : (
        <div>
          <h2 id="decision-title">{t('decision.confirmTitle')}</h2>
          <p>
            {t(outcome === 'approved' ? 'decision.confirmApprove' : 'decision.confirmReject', {
              ticket: props.ticket,
            })}
          </p>
          {note.trim() && <p class="ocr-text">{note.trim()}</p>}
          <DialogFooter
            problem={problem}
            backLabel={t('decision.back')}
            onBack={() => setStep('choose')}
            action={
              <button type="button" class="primary" disabled={busy} onClick={confirm}>
                {t('decision.confirm')}
              </button>
            }
          />
        </div>
      )}
    </Modal>
  );
}

/** Recusal: the packet goes back to the draw without him; the reason is for the administrator. */
export function RecusalDialog(props: {
  t: DeskTranslate;
  packetId: string;
  onClose: () => void;
  onRecused: () => void;
}) {
  const { t } = props;
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const { error } = await api.POST('/v1/registrar/packets/{id}/recuse', {
      params: { path: { id: props.packetId } },
      body: { reason: reason.trim() },
    });
    setBusy(false);
    if (error) return setProblem(t('error.generic'));
    props.onRecused();
  };
  return (
    <Modal labelledBy="recusal-title" onClose={props.onClose}>
      <form onSubmit={submit}>
        <h2 id="recusal-title">{t('recusal.title')}</h2>
        <label for="reason">{t('recusal.reason')}</label>
        <textarea
          id="reason"
          required
          minLength={3}
          maxLength={500}
          value={reason}
          aria-describedby="reason-hint"
          onInput={(event) => setReason((event.target as HTMLTextAreaElement).value)}
        />
        <p id="reason-hint" class="hint">
          {t('recusal.reasonHint')}
        </p>
        <DialogFooter
          problem={problem}
          backLabel={t('decision.cancel')}
          onBack={props.onClose}
          action={
            <button type="submit" class="danger" disabled={busy || reason.trim().length < 3}>
              {t('recusal.confirm')}
            </button>
          }
        />
      </form>
    </Modal>
  );
}

const SHORTCUTS: Array<[string[], 'help.next' | 'help.prev' | 'help.search' | 'help.decide' | 'help.help']> =
  [
    [['n', 'Page Down'], 'help.next'],
    [['p', 'Page Up'], 'help.prev'],
    [['/'], 'help.search'],
    [['d'], 'help.decide'],
    [['?'], 'help.help'],
  ];

export function HelpDialog({ t, onClose }: { t: DeskTranslate; onClose: () => void }) {
  return (
    <Modal labelledBy="help-title" onClose={onClose}>
      <h2 id="help-title">{t('help.title')}</h2>
      <dl class="side">
        {SHORTCUTS.map(([keys, what]) => (
          <>
            <dt key={`${what}-keys`}>
              {keys.map((key, i) => (
                <>
                  {i > 0 && ' / '}
                  <kbd>{key}</kbd>
                </>
              ))}
            </dt>
            <dd key={what}>{t(what)}</dd>
          </>
        ))}
      </dl>
      <div class="dialog-buttons">
        <button type="button" class="primary" onClick={onClose} autofocus>
          {t('help.close')}
        </button>
      </div>
    </Modal>
  );
}
