-- Shared by every Taskplane script (prepended at load time). Writes a task record, its indexes and
-- the event announcing the change in the same script call: a change and its event exist together
-- or not at all.
--
-- Expected locals set by the including script before the include line:
--   K_TASK   task record key prefix ("<prefix>:task:")
--   K_IDX    index key prefix       ("<prefix>:idx:")
--   K_EVENTS event stream key
--   MAXLEN   approximate event stream cap
local rcall = redis.call

-- The one transition table, generated from packages/core task-status.ts.
local TRANSITIONS = __TRANSITIONS__
local FINAL = __FINAL__

local RECORD_FIELDS = {'status', 'type', 'queue', 'labels', 'createdAt', 'attempts', 'idempotencyKey', 'parentId', 'runStart', 'resumes', 'scheduleId'}

-- Records loaded by this call, so their gathered writes can be saved together (saveRecords).
local RECORDS = {}

local function track(rec)
  RECORDS[#RECORDS + 1] = rec
  return rec
end

local function loadRecord(id)
  local v = rcall('HMGET', K_TASK .. id, unpack(RECORD_FIELDS))
  if not v[1] then return nil end
  return track({
    id = id, status = v[1], type = v[2], queue = v[3], labels = v[4] or '{}', createdAt = tonumber(v[5]) or 0,
    attempts = v[6] or '[]', idempotencyKey = v[7] or '', parentId = v[8] or '', runStart = tonumber(v[9]) or 0,
    resumes = tonumber(v[10]) or 0, scheduleId = v[11] or ''
  })
end

local function canMove(from, to)
  local targets = TRANSITIONS[from]
  return targets ~= nil and targets[to] == true
end

local function emit(kind, rec, at, data)
  local dataJson = data and cjson.encode(data) or '{}'
  -- A scheduled task's events carry its schedule, so subscriptions filter on it without a read.
  if rec.scheduleId and rec.scheduleId ~= '' then
    return rcall('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*',
      'k', kind, 'id', rec.id, 'q', rec.queue, 't', rec.type, 's', rec.status, 'at', at, 'l', rec.labels, 'd', dataJson,
      'sc', rec.scheduleId)
  end
  local cursor = rcall('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*',
    'k', kind, 'id', rec.id, 'q', rec.queue, 't', rec.type, 's', rec.status, 'at', at, 'l', rec.labels, 'd', dataJson)
  return cursor
end

local function indexKeys(rec)
  local keys = {K_IDX .. 'all', K_IDX .. 'type:' .. rec.type, K_IDX .. 'queue:' .. rec.queue}
  if rec.scheduleId and rec.scheduleId ~= '' then keys[#keys + 1] = K_IDX .. 'schedule:' .. rec.scheduleId end
  local ok, labels = pcall(cjson.decode, rec.labels)
  if ok and type(labels) == 'table' then
    for k, v in pairs(labels) do keys[#keys + 1] = K_IDX .. 'label:' .. k .. '=' .. tostring(v) end
  end
  return keys
end

-- Field writes to a record are gathered on it and written by one HSET in save().
local function set(rec, ...)
  rec.dirty = rec.dirty or {}
  local args = {...}
  for i = 1, #args do rec.dirty[#rec.dirty + 1] = args[i] end
end

local function save(rec)
  if rec and rec.dirty and #rec.dirty > 0 then
    rcall('HSET', K_TASK .. rec.id, unpack(rec.dirty))
    rec.dirty = nil
  end
end

local function saveRecords()
  for _, rec in ipairs(RECORDS) do save(rec) end
  RECORDS = {}
end

-- Move a task to a new status; false when the table forbids it (the record stays as it is).
local function setStatus(rec, to, at, extra)
  if not canMove(rec.status, to) then return false end
  local from = rec.status
  rcall('ZREM', K_IDX .. 'status:' .. from, rec.id)
  rcall('ZADD', K_IDX .. 'status:' .. to, rec.createdAt, rec.id)
  rec.status = to
  set(rec, 'status', to, 'updatedAt', at)
  if extra then set(rec, unpack(extra)) end
  if FINAL[to] then
    set(rec, 'finishedAt', at)
    rcall('ZADD', K_IDX .. 'finished', at, rec.id)
  elseif FINAL[from] then
    rcall('ZREM', K_IDX .. 'finished', rec.id)
  end
  -- The dead-letter queue in the order it grew (listing dead letters by when they died).
  if to == 'dead_lettered' then rcall('ZADD', K_IDX .. 'dead', at, rec.id)
  elseif from == 'dead_lettered' then rcall('ZREM', K_IDX .. 'dead', rec.id) end
  return true
end

-- Attempts are kept as a JSON array on the record: one entry per run of the handler, across every
-- time the task was run again by hand. `runStart` is where the current run's attempts begin: attempt
-- numbers and `attemptsMade` count within it, as BullMQ and the handler do.
local function updateAttempts(rec, change)
  local ok, attempts = pcall(cjson.decode, rec.attempts)
  if not ok or type(attempts) ~= 'table' then attempts = {} end
  local result = change(attempts)
  rec.attempts = #attempts == 0 and '[]' or cjson.encode(attempts)
  set(rec, 'attempts', rec.attempts, 'attemptsMade', #attempts - rec.runStart)
  return result
end

-- The number of the current run's latest attempt (1 = its first).
local function currentAttempt(rec)
  local ok, attempts = pcall(cjson.decode, rec.attempts)
  if not ok or type(attempts) ~= 'table' then return 0 end
  return #attempts - rec.runStart
end

local function closeAttempt(rec, at, err, stalled)
  return updateAttempts(rec, function(attempts)
    local last = attempts[#attempts]
    if last == nil or last.finishedAt ~= cjson.null then return nil end
    last.finishedAt = at
    if err then last.error = err end
    if stalled then last.stalled = true end
    return last
  end)
end
