import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { TEST_ADMIN_TOKEN } from './stack.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Thin helpers over `app.inject` that read like the station's and the admin's actions. */
export function apiClient(getApp: () => FastifyInstance) {
  const json = (method: 'POST' | 'PUT' | 'GET' | 'DELETE', url: string, token?: string, payload?: unknown) =>
    getApp().inject({
      method,
      url,
      headers: {
        ...(token ? bearer(token) : {}),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });

  /** Puts a service in the catalogue (created, or there already). */
  const addService = async (slug: string) => {
    const response = await json('POST', '/v1/services', TEST_ADMIN_TOKEN, {
      slug,
      names: { uk: slug, en: slug },
    });
    expect([201, 409]).toContain(response.statusCode);
  };

  return {
    json,
    addService,
    async createStation(name = 'Front desk'): Promise<{ id: string; token: string }> {
      const response = await json('POST', '/v1/stations', TEST_ADMIN_TOKEN, { name });
      expect(response.statusCode).toBe(201);
      return response.json();
    },
    async createRegistrar(services = ['land']): Promise<{ id: string; token: string }> {
      for (const service of services) await addService(service);
      const response = await json('POST', '/v1/registrars', TEST_ADMIN_TOKEN, {
        name: 'Registrar',
        services,
      });
      expect(response.statusCode).toBe(201);
      return response.json();
    },
    async createPacket(
      stationToken: string,
      body: { ticket: string; service: string; resubmissionOf?: string } = {
        ticket: 'A-017',
        service: 'land',
      },
    ): Promise<{ id: string; status: string; trackingCode: string }> {
      await addService(body.service);
      const response = await json('POST', '/v1/packets', stationToken, body);
      expect(response.statusCode).toBe(201);
      return response.json();
    },
    uploadPage(
      stationToken: string,
      packetId: string,
      n: number | string,
      body: Buffer | string,
      contentType = 'image/png',
    ): Promise<LightMyRequestResponse> {
      return getApp().inject({
        method: 'PUT',
        url: `/v1/packets/${packetId}/pages/${n}`,
        headers: { ...bearer(stationToken), 'content-type': contentType },
        payload: body,
      });
    },
    getPacket(token: string, packetId: string) {
      return json('GET', `/v1/packets/${packetId}`, token);
    },
    submit(stationToken: string, packetId: string, pages: number) {
      return json('POST', `/v1/packets/${packetId}/submit`, stationToken, { pages });
    },
  };
}

/** Asserts the one error shape and returns the code. */
export function errorCodeOf(response: LightMyRequestResponse): string {
  const body = response.json() as { error?: { code?: unknown; message?: unknown } };
  expect(typeof body.error?.code).toBe('string');
  expect(typeof body.error?.message).toBe('string');
  return body.error!.code as string;
}
