/**
 * Small HTTP callers for scripts and benchmarks that drive a running service: bearer token, JSON or raw (image)
 * bodies, throwing on 4xx/5xx with the answer's text. `httpRequester` hands back the response (for downloads);
 * `httpCaller` reads the answer as JSON.
 */
export function httpRequester(base: string) {
  return async (
    method: string,
    url: string,
    token: string | undefined,
    body?: unknown,
    contentType?: string,
  ): Promise<Response> => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': contentType ?? 'application/json' }),
      },
      ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    });
    if (response.status >= 400)
      throw new Error(`${method} ${url} → ${response.status} ${await response.text()}`);
    return response;
  };
}

export function httpCaller(base: string) {
  const request = httpRequester(base);
  return async (...args: Parameters<typeof request>) => {
    const text = await (await request(...args)).text();
    // biome-ignore lint/suspicious/noExplicitAny: callers read the API's JSON loosely; the API itself is typed by its schemas.
    return (text ? JSON.parse(text) : undefined) as any;
  };
}
