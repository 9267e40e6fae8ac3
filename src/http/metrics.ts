/** Prometheus metrics of one process, on a registry of its own (no global state). */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'portcullis_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'portcullis_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly signIns = new Counter({
    name: 'portcullis_signins_total',
    help: 'Password sign-ins by outcome',
    labelNames: ['tenant', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly tokensIssued = new Counter({
    name: 'portcullis_tokens_issued_total',
    help: 'Token endpoint grants that succeeded, by grant type',
    labelNames: ['grant_type'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
