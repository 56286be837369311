import { useEffect, useState } from 'preact/hooks';
import { api } from '../shared/api';
import type { Lang } from '../shared/i18n';

export type Service = { slug: string; names: Record<Lang, string> };
export type Registrar = { id: string; name: string; services: string[]; status: string };
export type Station = { id: string; name: string; createdAt: string };

/** Who and what the office has: the names every section shows instead of ids. */
export type Directory = {
  services: Service[];
  registrars: Registrar[];
  stations: Station[];
  refresh: () => Promise<void>;
  serviceName: (slug: string) => string;
  registrarName: (id: string) => string;
};

export function useDirectory(lang: Lang): Directory {
  const [services, setServices] = useState<Service[]>([]);
  const [registrars, setRegistrars] = useState<Registrar[]>([]);
  const [stations, setStations] = useState<Station[]>([]);
  const refresh = async () => {
    const [s, r, st] = await Promise.all([
      api.GET('/v1/services'),
      api.GET('/v1/registrars'),
      api.GET('/v1/stations'),
    ]);
    setServices(s.data ?? []);
    setRegistrars(r.data ?? []);
    setStations(st.data ?? []);
  };
  useEffect(() => {
    void refresh();
  }, []);
  return {
    services,
    registrars,
    stations,
    refresh,
    serviceName: (slug) => services.find((service) => service.slug === slug)?.names[lang] ?? slug,
    registrarName: (id) => registrars.find((registrar) => registrar.id === id)?.name ?? id,
  };
}
