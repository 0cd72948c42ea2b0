--[[
  Apply BullMQ's per-queue event stream (the write-ahead log its own scripts append atomically to
  every job transition) to task records, indexes and the Taskplane event log, exactly once: the
  checkpoint advances in the same call. Any process may call it at any time.

  KEYS[1] BullMQ event stream of the queue
  KEYS[2] checkpoint key of the queue
  KEYS[3] Taskplane event stream
  ARGV[1] task key prefix       ARGV[2] index key prefix
  ARGV[3] event stream cap      ARGV[4] BullMQ key prefix ("<prefix>:q:")
  ARGV[5] idempotency key prefix ARGV[6] idempotency window (seconds)
  ARGV[7] queue name            ARGV[8] entries per call
  Returns {applied entries, last entry id, more remaining (0/1), trimmed past checkpoint (0/1)}
]]
-- Set on each call (below --@call).
local K_TASK, K_IDX, MAXLEN, K_EVENTS, BULL, K_IDEM, IDEM_TTL, QUEUE, LIMIT

--@include common
--@include bull
--@include deps
--@include groups

local function atOf(entryId)
  return numberOf(string.match(entryId, '^(%d+)'))
end

local function decodeJson(text)
  if not text or text == '' then return nil end
  local ok, value = pcall(cjson.decode, text)
  if ok then return value end
  return nil
end

-- A failure as the worker encoded it ({code,message,retryable,attempt} as JSON in the message), or
-- BullMQ's own plain reason (stall limits, lock losses) read as a transient failure.
local function errorOf(reason)
  local e = decodeJson(reason)
  if type(e) == 'table' and e.code then
    return {code = e.code, message = e.message or '', retryable = e.retryable == true}, e.attempt
  end
  return {code = 'TRANSIENT', message = reason or 'unknown failure', retryable = true}, nil
end

-- The error of the record's attempt n from the job's failure reasons (BullMQ appends one per
-- failed attempt, atomically with the move), or nil when no reason names it: the attempt did not
-- fail (a hand-back) or failed in a way the worker did not encode (a stall, a lost lock). The
-- worker numbers attempts as BullMQ starts them, which counts a parent's resumption after its
-- children as a start of its own: `resumes` makes up the difference.
local function attemptFailure(rec, n)
  local jobId = rec.id
  n = n + rec.resumes
  local list = bullFailureReasons(QUEUE, jobId)
  for i = #list, 1, -1 do
    local err, attempt = errorOf(list[i])
    if attempt == n then return err end
  end
  return nil
end

-- The error of attempt n, or the newest reason when no reason names n.
local function attemptError(rec, n)
  local err = attemptFailure(rec, n)
  if err then return err end
  local list = bullFailureReasons(QUEUE, rec.id)
  return (errorOf(list[#list]))
end

-- Why a parent failed with its child (policy fail_parent): the child's own error, followed down a
-- chain of nested fan-outs (a child that failed because of its own child) a few levels deep.
local function childFailure(reason)
  local queue, childId = bullFailedChild(reason)
  if not queue then return nil end
  local path, err = childId, nil
  for _ = 1, 5 do
    local last = bullFailedReason(queue, childId)
    local q2, id2 = bullFailedChild(last)
    if not q2 then
      err = last and (errorOf(last)) or {message = 'failed'}
      break
    end
    queue, childId = q2, id2
    path = path .. ' > ' .. childId
  end
  err = err or {message = 'failed'}
  return {code = 'CHILD_FAILED', message = 'child ' .. path .. ' failed: ' .. (err.message or ''), retryable = false}
end

local function finalize(rec)
  if rec.idempotencyKey ~= '' and IDEM_TTL > 0 then
    rcall('EXPIRE', K_IDEM .. rec.idempotencyKey, IDEM_TTL)
  end
end

-- A submitted event's data when the task runs as soon as it can, encoded once (see emit).
local NO_RUN_AT = '{"runAt":null}'

local function create(id, at)
  local job = bullJob(QUEUE, id)
  if job == nil then return nil end
  local data = decodeJson(job.data) or {}
  local createdAt = numberOf(job.timestamp) or at
  local deps = (type(data.dependsOn) == 'table' and #data.dependsOn > 0) and data.dependsOn or nil
  -- A job with dependencies or a group is parked (delayed far ahead), not delayed for its own sake.
  local delay = (deps or data.group) and 0 or job.delay
  local rec = {
    id = id, type = job.name, queue = QUEUE, labels = (type(data.labels) == 'table' and next(data.labels) ~= nil) and cjson.encode(data.labels) or '{}', createdAt = createdAt,
    attempts = '[]', idempotencyKey = data.idempotencyKey or '', parentId = data.parentId or '', runStart = 0,
    resumes = 0, scheduleId = data.scheduleId or '', workflowId = data.workflowId or '',
    onDepFail = data.onDependencyFailure == 'run_anyway' and 'run_anyway' or 'cancel',
    group = data.group or '', changedAt = at, runAt = delay > 0 and (createdAt + delay) or nil,
    status = deps and 'blocked' or (delay > 0 and 'delayed' or 'pending')
  }
  track(rec)
  -- Fields at their default are left out (the readers default them): a record of short values
  -- stays a listpack, a third of the memory of a hashtable (see the attempts encoding).
  local fields = {'id', id, 'o', '', 'type', rec.type, 'queue', QUEUE, 'status', rec.status, 'priority', data.priority or 5,
    'params', cjson.encode(data.params or {}), 'createdAt', createdAt, 'updatedAt', at,
    'maxAttempts', data.maxAttempts or 1, 'timeoutMs', data.timeoutMs or 300000,
    'backoff', cjson.encode(data.backoff or {})}
  -- The optional fields it has (see CORE_FIELDS in common.lua), with a group: groupPark writes it.
  local codes = rec.group ~= '' and OPTIONAL_CODES.group or ''
  local function optional(name, value, default)
    if value ~= nil and value ~= default then
      fields[#fields + 1] = name
      fields[#fields + 1] = value
      codes = codes .. (OPTIONAL_CODES[name] or '')
    end
  end
  optional('order', data.order, 'fifo')
  optional('labels', rec.labels, '{}')
  optional('idempotencyKey', rec.idempotencyKey, '')
  optional('runAt', delay > 0 and (createdAt + delay) or nil, nil)
  optional('parentId', rec.parentId, '')
  optional('dependsOn', deps and cjson.encode(deps) or nil, nil)
  optional('scheduleId', rec.scheduleId, '')
  optional('workflowId', rec.workflowId, '')
  optional('onDepFail', rec.onDepFail, 'cancel')
  optional('onChildFail', data.onChildFailure, 'continue')
  rec.codes = codes
  fields[4] = codes -- the value of 'o' in the list above
  for i = 2, #fields, 2 do fields[i] = num(fields[i]) end
  rcall('HSET', K_TASK .. id, unpack(fields))
  zsetWrite(K_IDX .. 'status:' .. rec.status, id, createdAt)
  for _, key in ipairs(indexKeys(rec)) do zsetWrite(key, id, createdAt) end
  if rec.parentId ~= '' then zsetWrite(K_IDX .. 'parent:' .. rec.parentId, id, createdAt) end
  -- The submit's claim on its idempotency key now names a recorded task: it lasts until the task
  -- finishes (finalize), then the idempotency window.
  if rec.idempotencyKey ~= '' then
    if rcall('GET', K_IDEM .. rec.idempotencyKey) == id then rcall('PERSIST', K_IDEM .. rec.idempotencyKey) end
    if data.submission then rcall('HSET', K_TASK .. id, 'submission', data.submission) end
  end
  -- A workflow's record comes into being with its first node (every node carries its name and
  -- size): the workflow is a projection of its jobs, which one BullMQ transaction added.
  if rec.workflowId ~= '' then
    local wkey = K_WF .. rec.workflowId
    if rcall('HSETNX', wkey, 'id', rec.workflowId) == 1 then
      local name = data.workflowName or ''
      rcall('HSET', wkey, 'name', name, 'createdAt', createdAt, 'size', tonumber(data.workflowSize) or 1)
      rcall('ZADD', K_WFS .. 'all', createdAt, rec.workflowId)
      rcall('ZADD', K_WFS .. 'name:' .. name, createdAt, rec.workflowId)
    end
    if data.nodeKey then rcall('HSET', wkey .. ':nodes', data.nodeKey, id) end
    workflowMove(rec.workflowId, nil, rec.status, at)
  end
  emit('submitted', rec, at, delay > 0 and {runAt = createdAt + delay} or NO_RUN_AT)
  if deps then registerDependencies(rec, deps, at) end
  if rec.group ~= '' then groupPark(rec, data.priority, data.order) end
  return rec
end

local function requeue(rec, at, status)
  rec.runStart = #decodeAttempts(rec.attempts)
  rec.resumes = 0
  if setStatus(rec, status, at, {'finishedAt', '', 'result', '', 'runStart', rec.runStart, 'resumes', 0}) then
    emit('requeued', rec, at, {})
  end
end

local handlers = {}

handlers['added'] = function(id, f, at)
  -- Most added jobs are new tasks: one EXISTS rather than reading every field of no record.
  if LOADED[id] == nil and rcall('EXISTS', K_TASK .. id) == 0 then return create(id, at) end
  local rec = loadRecord(id)
  if rec == nil then return create(id, at) end
  -- A finished task submitted again under its own id: a retry by hand.
  if FINAL[rec.status] then requeue(rec, at, 'pending') end
end

handlers['waiting'] = function(id, f, at, next)
  local prev = f.prev
  -- A new job's own 'waiting' says nothing its 'added' did not.
  if prev == nil then return end
  local rec = loadRecord(id)
  if rec == nil then return end
  local n = currentAttempt(rec)
  -- BullMQ moves a job retried without delay straight from active to waiting (older versions said
  -- prev = failed): the attempt failed when a failure reason names it; otherwise it was handed back.
  local failure = rec.status == 'running' and (prev == 'failed' or prev == 'active') and attemptFailure(rec, n)
  if failure then
    closeAttempt(rec, at, failure, false)
    setStatus(rec, 'retrying', at, {'runAt', at, 'lastError', failure.message})
    emit('retrying', rec, at, {attempt = n, error = failure, runAt = at})
  elseif rec.status == 'running' and prev == 'active' then
    -- A stalled job is moved back with this same entry, then a 'stalled' entry: let that one speak.
    if next and next.kind == 'stalled' and next.jobId == id then return end
    local by = rec.preemptedBy
    if by ~= '' then
      -- Handed back by its worker because a more urgent task took the slot (preempt.lua chose it):
      -- the attempt is marked and not counted, and both tasks' histories say so.
      updateAttempts(rec, function(attempts)
        local last = attempts[#attempts]
        if last ~= nil and last.finishedAt == cjson.null then
          last.finishedAt = at
          last.preempted = true
          last.preemptedBy = by
        end
      end)
      set(rec, 'preemptedBy', '')
      rec.preemptedBy = ''
      if setStatus(rec, 'pending', at) then
        emit('preempted', rec, at, {attempt = n, by = by})
        local urgent = loadRecord(by)
        if urgent then emit('preempted', urgent, at, {preempted = id}) end
      end
      return
    end
    -- Handed back by a stopping worker: listed, not counted (BullMQ did not count it either).
    updateAttempts(rec, function(attempts)
      local last = attempts[#attempts]
      if last ~= nil and last.finishedAt == cjson.null then
        last.finishedAt = at
        last.handedBack = true
      end
    end)
    if setStatus(rec, 'pending', at) then emit('requeued', rec, at, {reason = 'handed back'}) end
  elseif rec.status == 'delayed' or rec.status == 'blocked' then
    if setStatus(rec, 'pending', at) then emit('ready', rec, at, {}) end
  elseif FINAL[rec.status] and rec.status ~= 'cancelled' then
    requeue(rec, at, 'pending')
  end
end

handlers['delayed'] = function(id, f, at)
  local rec = loadRecord(id)
  if rec == nil then return end
  local runAt = f.delay or at
  if rec.status == 'running' then
    local n = currentAttempt(rec)
    local err = attemptError(rec, n)
    closeAttempt(rec, at, err, false)
    setStatus(rec, 'retrying', at, {'runAt', runAt, 'lastError', err.message})
    emit('retrying', rec, at, {attempt = n, error = err, runAt = runAt})
  elseif rec.status == 'pending' and rec.group == '' then
    -- The parking delay of a job with dependencies, already ended by the time this entry is read.
    local job = bullJob(QUEUE, id)
    if job == nil or job.delay == 0 then return end
    if setStatus(rec, 'delayed', at, {'runAt', runAt}) then emit('ready', rec, at, {runAt = runAt}) end
  end
end

handlers['active'] = function(id, f, at)
  local rec = loadRecord(id)
  if rec == nil then rec = create(id, at) end
  if rec == nil then return end
  local workerId = bullWorkerOf(QUEUE, id) or cjson.null
  -- A parent that waited for its children carries on with the attempt that fanned out: no new
  -- attempt, and attempts made stay as they were.
  local resumed, n = false, 1
  if rec.attempts == '[]' then
    -- A first start, the common case, without decoding (the row encodeAttempts would write).
    -- Written out rather than encoded: cjson formats numbers with snprintf, as Redis does (see num).
    rec.attempts = '[[1,' .. num(at) .. ',0' .. (workerId == cjson.null and '' or ',' .. cjson.encode(workerId)) .. ']]'
    set(rec, 'attempts', rec.attempts)
  else
    n = updateAttempts(rec, function(attempts)
      local last = attempts[#attempts]
      if last ~= nil and last.fannedOut == true then
        resumed = true
        last.fannedOut = nil
        last.finishedAt = cjson.null
      else
        attempts[#attempts + 1] = {attempt = #attempts + 1 - rec.runStart, startedAt = at, finishedAt = cjson.null,
          workerId = workerId, error = cjson.null, stalled = false}
      end
      return #attempts - rec.runStart
    end)
  end
  -- When the run started is its first attempt's start, to readers (parseTaskRecord): not written.
  if resumed then
    rec.resumes = rec.resumes + 1
    set(rec, 'resumes', rec.resumes)
  end
  -- A preemption that never reached this task's last run (it ended first) is void.
  if rec.preemptedBy ~= '' then
    set(rec, 'preemptedBy', '')
    rec.preemptedBy = ''
  end
  if setStatus(rec, 'running', at) then
    emit('started', rec, at, {attempt = n, workerId = workerId, resumed = resumed})
  end
end

handlers['progress'] = function(id, f, at)
  local rec = loadRecord(id)
  if rec == nil then return end
  local value = f.progress
  if value == nil then return end
  set(rec, 'progress', value, 'updatedAt', at)
  emit('progress', rec, at, {progress = value})
end

handlers['completed'] = function(id, f, at)
  local rec = loadRecord(id)
  if rec == nil then rec = create(id, at) end
  if rec == nil then return end
  closeAttempt(rec, at, nil, false)
  local result = f.result or 'null'
  set(rec, 'result', result)
  -- A success's progress is 100 to readers (parseTaskRecord): not written.
  if setStatus(rec, 'success', at) then
    emit('succeeded', rec, at, {})
    finalize(rec)
    settleDependents(id, 'success', at)
  end
end

handlers['failed'] = function(id, f, at)
  local rec = loadRecord(id)
  if rec == nil then rec = create(id, at) end
  if rec == nil then return end
  local err = childFailure(f.failedReason) or errorOf(f.failedReason)
  if rec.status == 'cancelled' then
    closeAttempt(rec, at, {code = 'CANCELLED', message = 'task was cancelled', retryable = false}, false)
    return
  end
  local n = currentAttempt(rec)
  closeAttempt(rec, at, err, false)
  if setStatus(rec, 'failed', at, {'lastError', err.message}) then
    emit('failed', rec, at, {attempt = n, error = err})
    setStatus(rec, 'dead_lettered', at)
    emit('dead_lettered', rec, at, {error = err})
    finalize(rec)
    settleDependents(id, 'failed', at)
  end
end

handlers['stalled'] = function(id, f, at)
  local rec = loadRecord(id)
  if rec == nil then return end
  local last = closeAttempt(rec, at, {code = 'TRANSIENT', message = 'worker stopped answering; task handed to another worker', retryable = true}, true)
  if setStatus(rec, 'pending', at) then
    emit('stalled', rec, at, {attempt = last and last.attempt or cjson.null, workerId = last and last.workerId or cjson.null})
  end
end

handlers['removed'] = function(id, f, at)
  local rec = loadRecord(id)
  if rec == nil or FINAL[rec.status] then return end
  closeAttempt(rec, at, {code = 'CANCELLED', message = 'removed from its queue', retryable = false}, false)
  if setStatus(rec, 'cancelled', at) then
    emit('cancelled', rec, at, {reason = 'removed from its queue'})
    finalize(rec)
    settleDependents(id, 'cancelled', at)
  end
end

handlers['waiting-children'] = function(id, f, at)
  local rec = loadRecord(id)
  if rec == nil then return end
  -- The attempt pauses while the children run; the parent's next start carries it on.
  updateAttempts(rec, function(attempts)
    local last = attempts[#attempts]
    if last ~= nil and last.finishedAt == cjson.null then
      last.finishedAt = at
      last.fannedOut = true
    end
  end)
  if setStatus(rec, 'blocked', at) then emit('blocked', rec, at, {}) end
end

-- Entries the stream dropped before we applied them are a gap: the stream has lost entries
-- (entries-added > length) and its oldest kept entry is newer than our checkpoint.
local function idAfter(a, b)
  local a1, a2 = string.match(a, '^(%d+)-(%d+)$')
  local b1, b2 = string.match(b, '^(%d+)-(%d+)$')
  a1, a2, b1, b2 = tonumber(a1), tonumber(a2), tonumber(b1), tonumber(b2)
  return a1 > b1 or (a1 == b1 and a2 > b2)
end
local function fieldsOf(entry)
  if entry == nil then return nil end
  return bullEntry(entry[2])
end

-- How many of the newest entries a call reads first (see below): a single submit's two (its job's
-- added and waiting) and the checkpoint's own. Callgrind, per single submit: 514k -> 490k Redis
-- instructions; per task in batches of 200, where the first read falls short, 738k -> 740k.
local NEWEST = 4

--@call
K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[3]
BULL, K_IDEM, IDEM_TTL = ARGV[4], ARGV[5], tonumber(ARGV[6])
QUEUE, LIMIT = ARGV[7], tonumber(ARGV[8])
begin()

-- From the checkpoint's own entry on, and one entry more than we apply, so a handler can look at
-- the entry after its own. Most calls find a few entries (a submit's own jobs, a worker's latest
-- moves): those are read from the stream's end backwards, which visits just them, where a read
-- forwards from the checkpoint first walks the checkpoint's stream node (up to 100 entries) from
-- its start. When the few newest do not reach back to the checkpoint, the read forwards follows.
local last = rcall('GET', KEYS[2]) or '0-0'
local probe = math.min(NEWEST, LIMIT + 2)
local newest = rcall('XREVRANGE', KEYS[1], '+', last, 'COUNT', probe)
local entries
if #newest < probe or newest[#newest][1] == last then
  entries = {}
  for i = #newest, 1, -1 do entries[#entries + 1] = newest[i] end
else
  entries = rcall('XRANGE', KEYS[1], last, '+', 'COUNT', LIMIT + 2)
end
-- While the checkpoint's own entry is still in the stream nothing after it was trimmed (trimming
-- takes the oldest first): no XINFO STREAM on every call.
local kept = entries[1] ~= nil and entries[1][1] == last
if kept then table.remove(entries, 1) end
if #entries == 0 then return {0, last, 0, 0} end
-- Only a call with something to apply can find a gap (trimming keeps the newest entries).
local trimmed = 0
if last ~= '0-0' and not kept then
  local info = rcall('XINFO', 'STREAM', KEYS[1])
  local f = {}
  for i = 1, #info, 2 do f[info[i]] = info[i + 1] end
  local first = f['first-entry']
  local lost = f['entries-added'] == nil or tonumber(f['entries-added']) > tonumber(f['length'])
  if lost and type(first) == 'table' and idAfter(first[1], last) then trimmed = 1 end
end
local applied = math.min(#entries, LIMIT)
local current = fieldsOf(entries[1])
-- The records loaded stay loaded for the whole call, so a task that moves several times in it
-- is read once and written once; index and metric writes are gathered the same way.
gatherWrites()
for i = 1, applied do
  local following = fieldsOf(entries[i + 1])
  local handler = handlers[current.kind]
  if handler and current.jobId then
    handler(current.jobId, current, atOf(entries[i][1]), following)
  end
  last = entries[i][1]
  current = following
end
if applied > 0 then rcall('SET', KEYS[2], last) end
groupsFlush()
saveRecords()
flushWrites()
return {applied, last, #entries > LIMIT and 1 or 0, trimmed}
