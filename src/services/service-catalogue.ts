import { fail, type Outcome, ok } from '../domain/outcome.js';
import type { Service } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { ServiceCatalogRepository } from '../repositories/service-catalog-repository.js';

/**
 * The office's services, kept by the administrator. Packets and registrars may name only services in it, so a typo
 * can never leave packets waiting for a registrar who does not exist.
 */
export class ServiceCatalogue {
  constructor(private readonly deps: { catalog: ServiceCatalogRepository; log: Logger }) {}

  async create(slug: string, names: Service['names']): Promise<Outcome<Service>> {
    const service: Service = { slug, names, createdAt: new Date().toISOString() };
    if (!(await this.deps.catalog.create(service))) return fail({ code: 'service_exists', slug });
    this.deps.log.info({ service: slug }, 'service added to the catalogue');
    return ok(service);
  }

  list(): Promise<Service[]> {
    return this.deps.catalog.list();
  }

  /** ok when every slug is in the catalogue; otherwise the unknown ones. */
  async check(slugs: string[]): Promise<Outcome<void>> {
    const unknown = await this.deps.catalog.missing(slugs);
    return unknown.length === 0 ? ok(undefined) : fail({ code: 'unknown_service', services: unknown });
  }
}
