import { defineMessages } from '../shared/i18n';

export const trackMessages = defineMessages(
  {
    'track.title': 'Стан вашої справи',
    'track.lead': 'Введіть код відстеження з квитанції, наприклад ABCD-EFGH-JKMN-PQRS.',
    'track.code': 'Код відстеження',
    'track.submit': 'Перевірити',
    'track.notFound': 'Справу з таким кодом не знайдено. Перевірте код на квитанції.',
    'track.step.received': 'Документи прийнято',
    'track.step.processing': 'Документи готуються',
    'track.step.with_registrar': 'Справу розглядає реєстратор',
    'track.step.decided': 'Рішення ухвалено',
    'track.current': 'поточний етап',
    'track.outcome.approved': 'Рішення: схвалено.',
    'track.outcome.rejected': 'Рішення: відмовлено. Подробиці ви отримаєте в офісі.',
    'track.caseFor': 'Справа {code}',
  },
  {
    'track.title': 'Your case',
    'track.lead': 'Enter the tracking code from your receipt, for example ABCD-EFGH-JKMN-PQRS.',
    'track.code': 'Tracking code',
    'track.submit': 'Check',
    'track.notFound': 'No case has this code. Check the code on your receipt.',
    'track.step.received': 'Documents received',
    'track.step.processing': 'Documents being prepared',
    'track.step.with_registrar': 'With a registrar',
    'track.step.decided': 'Decided',
    'track.current': 'current stage',
    'track.outcome.approved': 'Decision: approved.',
    'track.outcome.rejected': 'Decision: rejected. You will get the details at the office.',
    'track.caseFor': 'Case {code}',
  },
);

export type TrackKey = keyof typeof trackMessages.uk;
