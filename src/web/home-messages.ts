import { defineMessages } from './shared/i18n';

export const homeMessages = defineMessages(
  {
    'home.lead': 'Оберіть, куди ви прямуєте.',
    'home.desk': 'Робоче місце реєстратора',
    'home.deskHint': 'Для реєстраторів бек-офісу: пакети, що випали вам за жеребкуванням.',
    'home.station': 'Станція сканування',
    'home.stationHint': 'Для операторів фронт-офісу: сканування документів і квитанція для громадянина.',
    'home.admin': 'Адміністрування',
    'home.adminHint': 'Офіс зараз, станції, реєстратори, послуги, справедливість розподілу і протокол.',
    'home.track': 'Стан вашої справи',
    'home.trackHint': 'Для громадян: введіть код відстеження з квитанції.',
  },
  {
    'home.lead': 'Choose where you are going.',
    'home.desk': 'Registrar desk',
    'home.deskHint': 'For back-office registrars: the packets drawn for you.',
    'home.station': 'Scanner station',
    'home.stationHint': 'For front-office operators: scanning documents and the citizen’s receipt.',
    'home.admin': 'Administration',
    'home.adminHint':
      'The office now, stations, registrars, services, fairness of the draw and the protocol.',
    'home.track': 'Your case',
    'home.trackHint': 'For citizens: enter the tracking code from your receipt.',
  },
);
