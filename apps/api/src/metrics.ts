import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one API process, served at /metrics. */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'taskplane_api_requests_total',
    help: 'GraphQL and REST requests, by transport and outcome',
    labelNames: ['transport', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'taskplane_api_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'taskplane_api_errors_total',
    help: 'Errors returned to clients, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly sockets = new Gauge({
    name: 'taskplane_api_open_sockets',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  });
  readonly subscriptions = new Gauge({
    name: 'taskplane_api_active_subscriptions',
    help: 'GraphQL subscriptions running',
    registers: [this.registry],
  });
  readonly executions = new Counter({
    name: 'taskplane_api_subscription_executions_total',
    help: 'Subscription documents executed for an event (one per distinct document and event, however many subscribers)',
    registers: [this.registry],
  });
  readonly delivered: Gauge;

  constructor(eventsDelivered: () => number) {
    this.delivered = new Gauge({
      name: 'taskplane_api_events_delivered',
      help: 'Task events delivered to subscriptions since the process started',
      registers: [this.registry],
      collect() {
        this.set(eventsDelivered());
      },
    });
  }
}
