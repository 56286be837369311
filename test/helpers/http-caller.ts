/**
 * A small JSON-over-HTTP caller for scripts and benchmarks that drive a running service: bearer token, JSON or
 * raw (image) bodies, throws on 4xx/5xx with the answer's text.
 */
export function httpCaller(base: string) {
  return async (
    method: string,
    url: string,
    token: string | undefined,
    body?: unknown,
    contentType?: string,
  ) => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': contentType ?? 'application/json' }),
      },
      ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${url} → ${response.status} ${text}`);
    // biome-ignore lint/suspicious/noExplicitAny: callers read the API's JSON loosely; the API itself is typed by its schemas.
    return (text ? JSON.parse(text) : undefined) as any;
  };
}
