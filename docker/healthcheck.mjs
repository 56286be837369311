// Container health: the API role must reach Redis and S3 (/health/ready); roles without the API answer
// /health/live on METRICS_PORT. Exit 0 healthy, 1 not.
const role = process.env.ROLE ?? 'all';
const hasApi = role === 'api' || role === 'all';
const port = hasApi ? (process.env.PORT ?? '8080') : (process.env.METRICS_PORT ?? '9464');
const path = hasApi ? '/health/ready' : '/health/live';
try {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  if (!response.ok) console.error(`${path} answered ${response.status}: ${await response.text()}`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  // Docker keeps this output with the health status (docker inspect).
  console.error(`${path} on port ${port}: ${error.cause?.message ?? error.message}`);
  process.exit(1);
}
