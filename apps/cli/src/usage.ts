/** `taskplane --help`. */
export const USAGE = `Usage: taskplane <command> [options]

Tasks
  submit <type> --params '<json>' [--priority N] [--label k=v]... [--delay MS]
                [--idempotency-key K] [--queue Q] [--order fifo|lifo] [--group G] [--wait]
  submit --bulk tasks.jsonl     one task input per line; bad lines reported by number
  get <id>
  list [--status S] [--type T] [--queue Q] [--label k=v] [--first N] [--after CURSOR]
  cancel <id> [--reason TEXT]
  retry <id>
  watch [--after CURSOR] [--status S]... [--type T] [--queue Q] [--label k=v]
                        prints task events live until Ctrl-C; resumes after a dropped connection
  tail [--status S] [--type T] [--queue Q] [--label k=v] [--kind K]...
                        live events with their detail (log text, progress, error)
  logs <id> [-f]        a task's log lines; -f follows them until the task finishes

Queues and workers
  health                exit 1 when the API, Redis or the workers are down
  stats [--queue Q] [--type T] [--watch]
  clean [--queue Q] [--status S] [--finished-before T] [--dry-run]
  repair [--dry-run]    fix records, indexes and BullMQ that disagree (admin)
  tune                  findings with their evidence and a suggested change each
  queues
  workers
  dlq list|requeue|purge [--dry-run] [--type T] [--queue Q] [--label k=v]
  concurrency <queue> <n> [--global N]
  pause <queue>
  resume <queue>
  worker start [--queues a,b] [--concurrency N]
                                runs a worker process here (Redis settings from the environment)

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

Shell
  completion bash|zsh|fish      prints a completion script (see "taskplane completion --help")

Options
  --url URL      GraphQL endpoint (env TASKPLANE_URL, default http://127.0.0.1:4000/graphql)
  --token TOKEN  API token (env TASKPLANE_TOKEN)
  --profile P    a profile of $XDG_CONFIG_HOME/taskplane/config.yaml
  --json         machine-readable output
  -h, --help     this text; "taskplane <command> --help" shows a command's options and examples

Example (against \`pnpm start\` and its demo catalogue; it prints this line with your token):
  export TASKPLANE_TOKEN=tp_dev_...
  taskplane submit single_product --params '{"url":"http://127.0.0.1:4100/products/p1"}' --label shop=demo

Exit codes: 0 ok, 1 the operation failed (the message names its code), 2 usage error.`;

/** `taskplane <command> --help`: what it does, its options and examples. */
const HELP: Record<string, string> = {
  get: `Usage: taskplane get <id> [--json]

A task with its attempts and log lines.

Examples:
  taskplane get 01J...
  taskplane get 01J... --json | jq .status`,
  list: `Usage: taskplane list [--status S]... [--type T]... [--queue Q]... [--label k=v]... [--first N] [--after CURSOR] [--json]

Tasks matching every given condition, newest first, a page at a time.

Examples:
  taskplane list --status failed --queue products
  taskplane list --label shop=demo --first 10`,
  cancel: `Usage: taskplane cancel <id> [--reason TEXT] [--json]

Cancels a waiting task, or aborts a running one on whichever worker runs it.

Examples:
  taskplane cancel 01J... --reason 'wrong params'`,
  retry: `Usage: taskplane retry <id> [--json]

Runs a failed, dead-lettered or cancelled task again under the same id.

Examples:
  taskplane retry 01J...`,
  watch: `Usage: taskplane watch [filters] [--kind K]... [--after CURSOR] [--json]

The same as tail: task events live, with their detail, until Ctrl-C.

Examples:
  taskplane watch --status failed`,
  queues: `Usage: taskplane queues [--json]

Every queue with its settings and counts.

Examples:
  taskplane queues
  taskplane queues --json | jq '.[].counts.pending'`,
  workers: `Usage: taskplane workers [--json]

Worker processes online, their queues and running tasks.

Examples:
  taskplane workers`,
  dlq: `Usage: taskplane dlq list|requeue|purge [--dry-run] [--status S] [--type T] [--queue Q] [--label k=v] [--first N] [--json]

Dead-lettered tasks: list them, run them again, or delete them (a bulk operation).

Examples:
  taskplane dlq list --queue products
  taskplane dlq requeue --type single_product --dry-run`,
  concurrency: `Usage: taskplane concurrency <queue> <n> [--global N] [--json]

Sets a queue's concurrency per worker process (and its cap across all), live on every worker.

Examples:
  taskplane concurrency products 10 --global 40`,
  pause: `Usage: taskplane pause <queue> [--json]

Stops workers from starting tasks of the queue; running ones finish.

Examples:
  taskplane pause products`,
  resume: `Usage: taskplane resume <queue> [--json]

Lets workers start tasks of a paused queue again.

Examples:
  taskplane resume products`,
  token: `Usage: taskplane token create <name> <viewer|operator|admin> [--json]

Creates an API token; its secret is shown once.

Examples:
  taskplane token create ci-bot operator`,
  schedules: `Usage: taskplane schedules ls|add|rm|pause|resume|trigger|next ... [--json]

Cron and interval schedules (see "taskplane --help" for each action's options).

Examples:
  taskplane schedules add nightly full_sync --cron '0 2 * * *' --tz Europe/Berlin
  taskplane schedules next <id> --count 3`,
  workflow: `Usage: taskplane workflow submit|get|watch|ls ... [--json]

DAGs of tasks (see the README, Workflows).

Examples:
  taskplane workflow submit flow.yaml
  taskplane workflow watch <id>`,
  health: `Usage: taskplane health [--json]

Checks the API (/readyz), Redis, the workers online and queues that no worker consumes.
Exit code 0 when healthy, 1 when the API or Redis is unreachable, no worker is online, or a queue
with pending tasks has no consumer (a queue without consumer and without work is a warning).

Examples:
  taskplane health
  taskplane health --json | jq .healthy
  */5 * * * * taskplane health >/dev/null || notify-ops   # in a crontab`,
  stats: `Usage: taskplane stats [--queue Q]... [--type T]... [--watch] [--json]

Counts, throughput (succeeded per minute), failure rate and average run time per queue, from the
API's queueStats feed (refreshed every monitoring.stats_interval). --type picks the queues its task
types run on. --watch redraws on every refresh until Ctrl-C (with --json: one JSON line each).

Examples:
  taskplane stats
  taskplane stats --queue products --watch
  taskplane stats --type single_product --json`,
  clean: `Usage: taskplane clean [--queue Q]... [--status S]... [--finished-before T] [--dry-run] [--json]

Deletes finished tasks now (what retention would delete later), per queue and status, as bulk
operations whose progress is shown as a bar. Statuses: success, cancelled, dead_lettered (default:
success). --finished-before takes a time (2024-05-01T00:00:00Z) or an age (30m, 12h, 7d).
--dry-run prints how many tasks would go, and a sample.

Examples:
  taskplane clean --dry-run
  taskplane clean --queue products --status success --finished-before 7d
  taskplane clean --status cancelled --status dead_lettered --json`,
  repair: `Usage: taskplane repair [--dry-run] [--json]

Finds and fixes inconsistencies between task records, their indexes and BullMQ, listing each finding
with what is done about it (needs an admin token):
  INDEX_ENTRY_WITHOUT_RECORD    an index entry whose record is gone: the entry is removed
  TASK_WITHOUT_JOB              a pending or running task whose BullMQ job is gone and that no live
                                worker runs: it is failed and dead-lettered, so "dlq requeue" can run
                                it again (re-adding the job by itself could run work twice)
  ORPHANED_LOCK                 a BullMQ job lock without an active job: the lock is deleted
  IDEMPOTENCY_KEY_WITHOUT_TASK  a persistent idempotency key naming no task: the key is deleted
The API walks the keys in bounded steps (SCAN); each check and its fix happen in one script call.
--dry-run reports the same findings and changes nothing.

Examples:
  taskplane repair --dry-run
  taskplane repair
  taskplane repair --json | jq '.findings | length'`,
  completion: `Usage: taskplane completion bash|zsh|fish

Prints a shell completion script for commands, their actions and their options.

Examples:
  source <(taskplane completion bash)           # in ~/.bashrc
  source <(taskplane completion zsh)            # in ~/.zshrc, after compinit
  taskplane completion fish | source            # in ~/.config/fish/config.fish`,
  tune: `Usage: taskplane tune [--json]

The API's diagnostics: findings an operator can act on, each with its evidence and a suggested
change, from the queues, the workers, Redis and the last hour of metrics:
  no_workers                    no worker process online
  no_consumer                   pending tasks in a queue no worker consumes
  paused_with_work              a paused queue with pending tasks
  concurrency_below_rate_limit  the workers' slots cannot reach the queue's rate limit at its run time
  saturated                     every slot busy and more pending than slots (no rate limit)
  wait_growing_while_idle       wait time doubling while slots sit idle (limits hold tasks back)
  wait_growing_saturated        wait time doubling with every slot busy (add capacity)
  high_failure_rate             more than 20% of the last hour's attempts failed
  high_retry_rate               a task type whose starts are more than 25% retries
  stalls                        stalls while workers stayed online (a handler blocking the event loop)
  dead_letters                  dead-lettered tasks waiting for a decision
  finished_pile_up              more finished records kept than retention allows
  redis_memory                  Redis above 80% of maxmemory
  redis_eviction                a maxmemory-policy that may evict Taskplane's keys
  schedules_overdue             schedules past their next run that did not fire
It changes nothing. Exit code 0 whatever it finds (use health for probes).

Examples:
  taskplane tune
  taskplane tune --json | jq -r '.findings[].suggestion'`,
  logs: `Usage: taskplane logs <id> [-f|--follow] [--json]

Prints a task's log lines. With -f, keeps printing new lines as the worker writes them and exits
when the task has finished (exit code 1 when it did not succeed).

Examples:
  taskplane logs 01J...
  taskplane logs 01J... -f`,
  tail: `Usage: taskplane tail [--status S]... [--type T]... [--queue Q]... [--label k=v]... [--kind K]...
                     [--after CURSOR] [--json]

Live task events with their detail: the text of LOG events, the percentage of PROGRESS events,
the error of FAILED ones. --kind keeps only some kinds (log, progress, failed, ...). Runs until
Ctrl-C and resumes after a dropped connection without missing or repeating an event.

Examples:
  taskplane tail
  taskplane tail --queue products --kind log --kind failed
  taskplane tail --label shop=demo --json | jq -r .data.line`,
  submit: `Usage: taskplane submit <type> [--params '<json>'] [--priority N] [--label k=v]... [--delay MS]
                       [--idempotency-key K] [--queue Q] [--order fifo|lifo] [--group G] [--wait]
       taskplane submit --bulk tasks.jsonl [--json]

--order lifo runs the task before older ones of its priority. --group puts the task in a fair group
(e.g. a shop id): groups take turns, within the queue's group limits. --wait follows the task until it
finishes, with its progress, and exits 0 when it succeeded, 1 (printing the error) otherwise.
--bulk submits one task input per line ({"type": ..., "params": ..., "labels": [...]}, the
submitTask input) in batches, with a progress bar; bad lines are reported by line number and make
the exit code 1, good lines are submitted regardless.

Examples:
  taskplane submit single_product --params '{"url":"http://127.0.0.1:4100/products/p1"}' --wait
  taskplane submit full_sync --order lifo --priority 9
  taskplane submit --bulk tasks.jsonl`,
  worker: `Usage: taskplane worker start [--queues a,b] [--concurrency N]

Runs a worker process here on the named queues (default: workers.queues of the configuration).
--concurrency sets how many tasks of each of its queues it runs at once (the configured value
otherwise); a concurrency set at run time with "taskplane concurrency" still wins.
Redis and the rest of the configuration come from the environment (REDIS_URL, TASKPLANE_*).
Ctrl-C stops it gracefully; a second Ctrl-C kills it.

Examples:
  taskplane worker start
  taskplane worker start --queues products,search --concurrency 8`,
};

/** The help of one command, or null when it has none beyond the overview. */
export function commandHelp(name: string): string | null {
  return HELP[name] ?? null;
}
