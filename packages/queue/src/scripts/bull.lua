-- The one place Taskplane's scripts read or write BullMQ's private storage (BullMQ 6): its job
-- hashes, its finished sets and its per-queue event stream. `bull-contract.redis.test.ts` runs real
-- BullMQ through every transition and fails when an upgrade changes anything relied on here.
--
-- Expected local set by the including script: BULL, BullMQ's key prefix ("<prefix>:q:").

-- The key of a job's hash; BullMQ keeps its other keys beside it (`<job key>:logs`, ...).
local function bullJobKey(queue, id)
  return BULL .. queue .. ':' .. id
end

-- What a job was added with: its name (the task type), data (JSON), timestamp and delay.
local function bullJob(queue, id)
  local v = rcall('HMGET', bullJobKey(queue, id), 'name', 'data', 'timestamp', 'delay')
  if not v[1] then return nil end
  -- The timestamp as text: the caller decides how to read it (project.lua keeps its text).
  return {name = v[1], data = v[2], timestamp = v[3], delay = tonumber(v[4]) or 0}
end

-- The worker that took the job last (BullMQ's "processed by"), or nil.
local function bullWorkerOf(queue, id)
  local w = rcall('HGET', bullJobKey(queue, id), 'pb')
  if w == false then return nil end
  return w
end

-- Every failed attempt's reason, oldest first: BullMQ appends one stack-trace entry per failed
-- attempt in the same call that moves the job; `failedReason` holds the last one.
local function bullFailureReasons(queue, id)
  local v = rcall('HMGET', bullJobKey(queue, id), 'stacktrace', 'failedReason')
  local ok, list = pcall(cjson.decode, v[1] or '')
  if ok and type(list) == 'table' and #list > 0 then return list end
  if v[2] then return {v[2]} end
  return {}
end

-- The reason a job failed last (BullMQ's `failedReason`), or nil. Unlike its stack-trace entries,
-- this holds just the message for failures BullMQ makes itself (a parent's deferred failure).
local function bullFailedReason(queue, id)
  local v = rcall('HGET', bullJobKey(queue, id), 'failedReason')
  if v == false then return nil end
  return v
end

-- The jobs BullMQ's workers hold now (its `active` list, newest first, as moveToActive pushes on
-- the left) and how many there are. Only the first `max` ids are read: the list is as long as the
-- queue's running tasks, which the workers' concurrency bounds.
local function bullActiveJobs(queue, max)
  local key = BULL .. queue .. ':active'
  return rcall('LLEN', key), rcall('LRANGE', key, 0, max - 1)
end

-- Where a job stands for deletion: 'missing', 'finished' (in the completed or failed set) or
-- 'alive' (waiting, delayed, prioritized, active or waiting for children).
local function bullFinishedState(queue, id)
  if rcall('EXISTS', bullJobKey(queue, id)) == 0 then return 'missing' end
  local base = BULL .. queue .. ':'
  if rcall('ZSCORE', base .. 'completed', id) or rcall('ZSCORE', base .. 'failed', id) then
    return 'finished'
  end
  return 'alive'
end

-- Remove a finished job the way BullMQ's own removeJob does for one (its keys, its place in the
-- finished sets). Only for jobs bullFinishedState called 'finished': no parent waits on them.
local function bullRemoveFinished(queue, id)
  local base = BULL .. queue .. ':'
  local key = base .. id
  rcall('ZREM', base .. 'completed', id)
  rcall('ZREM', base .. 'failed', id)
  rcall('DEL', key, key .. ':logs', key .. ':dependencies', key .. ':processed', key .. ':failed',
    key .. ':unsuccessful')
end

-- A job waiting on Taskplane dependencies is added "parked": delayed far into the future (see
-- PARK_DELAY_MS in task-engine.ts), so BullMQ itself never runs it. These two functions end the
-- parking from inside our scripts, in the same call that records why.

-- Make a parked job runnable now, exactly as BullMQ's promote-9.lua does (its delayed zset, its
-- wait list or prioritized zset with the priority counter, its marker, its `waiting` event and the
-- job's `delay` field). False when the job is not delayed (removed, or already promoted).
local function bullPromoteParked(queue, id)
  local base = BULL .. queue .. ':'
  if rcall('ZREM', base .. 'delayed', id) == 0 then return false end
  local jobKey = base .. id
  local priority = tonumber(rcall('HGET', jobKey, 'priority')) or 0
  local meta = rcall('HMGET', base .. 'meta', 'paused', 'concurrency')
  local pausedOrMaxed = meta[1] ~= false
  if not pausedOrMaxed and meta[2] then
    pausedOrMaxed = rcall('LLEN', base .. 'active') >= tonumber(meta[2])
  end
  -- BullMQ 4's delay marker in the wait list, which promote-9.lua still removes.
  local marker = rcall('LINDEX', base .. 'wait', 0)
  if marker and string.sub(marker, 1, 2) == '0:' then rcall('LPOP', base .. 'wait') end
  if priority == 0 then
    rcall('LPUSH', base .. 'wait', id)
  else
    local counter = rcall('INCR', base .. 'pc')
    rcall('ZADD', base .. 'prioritized', priority * 0x100000000 + counter % 0x100000000, id)
  end
  if not pausedOrMaxed then rcall('ZADD', base .. 'marker', 0, '0') end
  rcall('XADD', base .. 'events', '*', 'event', 'waiting', 'jobId', id, 'prev', 'delayed')
  rcall('HSET', jobKey, 'delay', 0)
  return true
end

-- Make a parked job due at `due` (ms) instead, exactly as BullMQ's changeDelay-4.lua does (its
-- delayed score with the submit-order bits, the job's `delay` field, a `delayed` event and the
-- delay marker that wakes a worker at that time), so BullMQ runs it then by itself (a fair
-- group's rate limit, see groups.lua). False when the job is not delayed.
local function bullScheduleParked(queue, id, due, now)
  local base = BULL .. queue .. ':'
  if rcall('ZREM', base .. 'delayed', id) == 0 then return false end
  local minScore, maxScore = due * 0x1000, (due + 1) * 0x1000 - 1
  local top = rcall('ZREVRANGEBYSCORE', base .. 'delayed', maxScore, minScore, 'WITHSCORES', 'LIMIT', 0, 1)
  local score = minScore
  if top[2] then score = math.min(tonumber(top[2]) + 1, maxScore) end
  rcall('HSET', base .. id, 'delay', due - now)
  rcall('ZADD', base .. 'delayed', score, id)
  local maxEvents = tonumber(rcall('HGET', base .. 'meta', 'opts.maxLenEvents')) or 10000
  rcall('XADD', base .. 'events', 'MAXLEN', '~', maxEvents, '*', 'event', 'delayed', 'jobId', id, 'delay', due)
  local first = rcall('ZRANGE', base .. 'delayed', 0, 0, 'WITHSCORES')
  if first[2] then rcall('ZADD', base .. 'marker', tonumber(first[2]) / 0x1000, '1') end
  return true
end

-- Remove a parked job the way BullMQ's removeJob does for a delayed job without parent or
-- children (parked jobs have neither): its delayed entry, its keys and a `removed` event.
local function bullRemoveParked(queue, id)
  local base = BULL .. queue .. ':'
  if rcall('ZREM', base .. 'delayed', id) == 0 then return false end
  local key = base .. id
  rcall('DEL', key, key .. ':logs', key .. ':dependencies', key .. ':processed', key .. ':failed',
    key .. ':unsuccessful')
  local maxEvents = tonumber(rcall('HGET', base .. 'meta', 'opts.maxLenEvents')) or 10000
  rcall('XADD', base .. 'events', 'MAXLEN', '~', maxEvents, '*', 'event', 'removed', 'jobId', id,
    'prev', 'delayed')
  return true
end

-- The child whose failure failed a job, from the job's failure reason: BullMQ (6) fails a parent
-- whose child had `failParentOnFailure` with the reason "child <child's job key> failed" (a
-- deferred failure, `defa`, applied when a worker next takes the parent). Returns queue, id or nil.
-- Task ids hold no ':', so the job key's last part is the id and the rest after BULL the queue.
local function bullFailedChild(reason)
  if type(reason) ~= 'string' then return nil end
  local key = string.match(reason, '^child (.+) failed$')
  if not key or string.sub(key, 1, #BULL) ~= BULL then return nil end
  local queue, id = string.match(string.sub(key, #BULL + 1), '^(.+):([^:]+)$')
  return queue, id
end

-- One entry of a queue's BullMQ event stream, in the names the projection uses:
-- {kind, jobId, prev, delay, progress, result, failedReason}. Kinds are BullMQ's event names
-- (added, waiting, delayed, active, progress, completed, failed, stalled, removed, waiting-children).
local ENTRY_FIELDS = {event = 'kind', jobId = 'jobId', prev = 'prev', delay = 'delay', data = 'progress',
  returnvalue = 'result', failedReason = 'failedReason'}

local function bullEntry(raw)
  -- Sized for an entry's fields at once (the nils count), not grown and rehashed field by field.
  local e = {kind = nil, jobId = nil, prev = nil, result = nil}
  for i = 1, #raw, 2 do
    local name = ENTRY_FIELDS[raw[i]]
    if name then e[name] = raw[i + 1] end
  end
  e.delay = tonumber(e.delay)
  e.progress = tonumber(e.progress)
  return e
end

-- A job's lock (`<job key>:lock`) is orphaned when the job is not in the queue's active list: BullMQ
-- sets the lock and pushes the job there in one script (moveToActive) and drops both in one
-- (moveToFinished), so a lock without an active job is held by nobody. True when it was found
-- (and removed, unless `dryRun`).
local function bullOrphanedLock(queue, id, dryRun)
  local key = bullJobKey(queue, id) .. ':lock'
  if rcall('EXISTS', key) == 0 then return false end
  if rcall('LPOS', BULL .. queue .. ':active', id) then return false end
  if not dryRun then rcall('DEL', key) end
  return true
end

-- Whether a job exists in BullMQ in any state (its hash is there).
local function bullJobExists(queue, id)
  return rcall('EXISTS', bullJobKey(queue, id)) == 1
end
