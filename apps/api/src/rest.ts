import type { GraphQLServer } from './yoga';

/**
 * A small REST facade for scripts and webhooks: each route runs one GraphQL operation through the
 * same server (validation, auth, errors), and maps its typed result to an HTTP status.
 */
const TASK_FIELDS = `id type queue status priority params labels { key value } createdAt updatedAt startedAt finishedAt
  attemptsMade maxAttempts progress result lastError { code message retryable }`;
const ERROR_FIELDS = `__typename message code ... on ValidationError { fields { path message } }`;

const SCHEDULE_FIELDS = `id name cron timezone intervalMs paused overlap missed nextRunAt lastTaskId
  task { type params queue } lastOutcome { kind at taskId reason }`;

const OPERATIONS = {
  submit: `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { ... on SubmitTaskPayload { created task { ${TASK_FIELDS} } } ... on Error { ${ERROR_FIELDS} } } }`,
  get: `query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`,
  cancel: `mutation($id: ID!) { cancelTask(id: $id) { ... on Task { ${TASK_FIELDS} } ... on Error { ${ERROR_FIELDS} } } }`,
  schedules: `query { schedules(first: 100) { ... on ScheduleConnection { nodes { ${SCHEDULE_FIELDS} } } ... on Error { ${ERROR_FIELDS} } } }`,
  createSchedule: `mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { ... on Schedule { ${SCHEDULE_FIELDS} } ... on Error { ${ERROR_FIELDS} } } }`,
  deleteSchedule: `mutation($id: ID!) { deleteSchedule(id: $id) { ... on Schedule { ${SCHEDULE_FIELDS} } ... on Error { ${ERROR_FIELDS} } } }`,
  stats: `query { queues { name paused concurrency counts { pending delayed running blocked deadLettered succeeded } } workers { id } }`,
};

const STATUS_BY_CODE: Record<string, number> = {
  VALIDATION: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

interface GraphQLResponse {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string; fields?: unknown } }[];
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function errorResponse(code: string, message: string, fields?: unknown, status?: number): Response {
  return json(status ?? STATUS_BY_CODE[code] ?? 500, {
    error: { code, message, ...(fields ? { fields } : {}) },
  });
}

/** Handles `/api/*`; null when the path is not a REST route. */
export async function handleRest(request: Request, yoga: GraphQLServer): Promise<Response | null> {
  const url = new URL(request.url);
  const taskMatch = /^\/api\/tasks\/([^/]+)$/.exec(url.pathname);
  const scheduleMatch = /^\/api\/schedules\/([^/]+)$/.exec(url.pathname);
  let operation: string;
  let variables: Record<string, unknown> = {};
  let field: string;
  if (url.pathname === '/api/tasks' && request.method === 'POST') {
    let input: unknown;
    try {
      input = await request.json();
    } catch {
      return errorResponse('VALIDATION', 'the body must be a JSON task: {"type": "...", "params": {...}}');
    }
    operation = OPERATIONS.submit;
    variables = { input };
    field = 'submitTask';
  } else if (taskMatch && request.method === 'GET') {
    operation = OPERATIONS.get;
    variables = { id: decodeURIComponent(taskMatch[1]!) };
    field = 'task';
  } else if (taskMatch && request.method === 'DELETE') {
    operation = OPERATIONS.cancel;
    variables = { id: decodeURIComponent(taskMatch[1]!) };
    field = 'cancelTask';
  } else if (url.pathname === '/api/schedules' && request.method === 'GET') {
    operation = OPERATIONS.schedules;
    field = 'schedules';
  } else if (url.pathname === '/api/schedules' && request.method === 'POST') {
    let input: unknown;
    try {
      input = await request.json();
    } catch {
      return errorResponse(
        'VALIDATION',
        'the body must be a JSON schedule: {"name": "...", "task": {...}, "cron": "..."}',
      );
    }
    operation = OPERATIONS.createSchedule;
    variables = { input };
    field = 'createSchedule';
  } else if (scheduleMatch && request.method === 'DELETE') {
    operation = OPERATIONS.deleteSchedule;
    variables = { id: decodeURIComponent(scheduleMatch[1]!) };
    field = 'deleteSchedule';
  } else if (url.pathname === '/api/stats' && request.method === 'GET') {
    operation = OPERATIONS.stats;
    field = '';
  } else if (url.pathname.startsWith('/api/')) {
    return errorResponse('NOT_FOUND', `no route ${request.method} ${url.pathname}`);
  } else {
    return null;
  }

  const headers = new Headers({ 'content-type': 'application/json' });
  const authorization = request.headers.get('authorization');
  if (authorization) headers.set('authorization', authorization);
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: operation, variables }),
  });
  const body = (await response.json()) as GraphQLResponse;
  const error = body.errors?.[0];
  if (error) {
    const code = error.extensions?.code ?? 'VALIDATION';
    // GraphQL's own input coercion errors (a wrong field type in the body) are validation errors too.
    return errorResponse(
      STATUS_BY_CODE[code] ? code : 'VALIDATION',
      error.message,
      error.extensions?.fields,
      response.status >= 400 && !STATUS_BY_CODE[code] ? 400 : undefined,
    );
  }
  if (!field) return json(200, body.data);
  const result = body.data?.[field] as Record<string, unknown> | null;
  if (result === null || result === undefined)
    return errorResponse('NOT_FOUND', `no task with id ${variables.id}`);
  if (typeof result.code === 'string' && typeof result.__typename === 'string') {
    return errorResponse(result.code, String(result.message), result.fields);
  }
  if (field === 'submitTask') return json(result.created ? 201 : 200, result);
  if (field === 'schedules') return json(200, { schedules: result.nodes });
  if (field === 'createSchedule') return json(201, { schedule: result });
  if (field === 'deleteSchedule') return json(200, { schedule: result });
  return json(200, { task: result });
}
