/** `taskplane --help`. */
export const USAGE = `Usage: taskplane <command> [options]

Tasks
  submit <type> --params '<json>' [--priority N] [--label k=v]... [--delay MS]
                [--idempotency-key K] [--queue Q]
  get <id>
  list [--status S] [--type T] [--queue Q] [--label k=v] [--first N] [--after CURSOR]
  cancel <id> [--reason TEXT]
  retry <id>
  watch [--after CURSOR] [--status S]... [--type T] [--queue Q] [--label k=v]
                        prints task events live until Ctrl-C; resumes after a dropped connection

Queues and workers
  queues
  workers
  dlq list|requeue|purge [--dry-run] [--type T] [--queue Q] [--label k=v]
  concurrency <queue> <n> [--global N]
  pause <queue>
  resume <queue>
  worker start [--queues a,b]   runs a worker process here (Redis settings from the environment)

Schedules
  schedules ls
  schedules add <name> <type> (--cron EXPR [--tz ZONE] | --every MS) [--params '<json>']
                [--overlap skip|allow|cancel_previous] [--missed skip|run_once] [--label k=v]...
                [--queue Q] [--priority N] [--paused]
  schedules rm|pause|resume|trigger <id>
  schedules next <id> [--count N]   the next run times

Workflows
  workflow submit <file.json|file.yaml>   a DAG of tasks in one call (see README, Workflows)
  workflow get <id>                       status, nodes and what each waits on
  workflow watch <id>                     node changes live; ends when every node has finished
  workflow ls [--status S] [--first N]

Access
  token create <name> <viewer|operator|admin>

Options
  --url URL      GraphQL endpoint (env TASKPLANE_URL, default http://127.0.0.1:4000/graphql)
  --token TOKEN  API token (env TASKPLANE_TOKEN)
  --json         machine-readable output
  -h, --help     this text

Example (against \`pnpm start\` and its demo catalogue; it prints this line with your token):
  export TASKPLANE_TOKEN=tp_dev_...
  taskplane submit single_product --params '{"url":"http://127.0.0.1:4100/products/p1"}' --label shop=demo

Exit codes: 0 ok, 1 the operation failed (the message names its code), 2 usage error.`;
