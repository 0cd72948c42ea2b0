-- Shared by every Taskplane script (prepended at load time). Writes a task record, its indexes and
-- the event announcing the change in the same script call: a change and its event exist together
-- or not at all.
--
-- Expected locals set by the including script before the include line:
--   K_TASK   task record key prefix ("<prefix>:task:")
--   K_IDX    index key prefix       ("<prefix>:idx:")
--   K_EVENTS event stream key
--   K_LIVE   event channel
--   MAXLEN   approximate event stream cap
local rcall = redis.call

-- The one transition table, generated from packages/core task-status.ts.
local TRANSITIONS = __TRANSITIONS__
local FINAL = __FINAL__

local RECORD_FIELDS = {'status', 'type', 'queue', 'labels', 'createdAt', 'attempts', 'idempotencyKey', 'parentId'}

local function loadRecord(id)
  local v = rcall('HMGET', K_TASK .. id, unpack(RECORD_FIELDS))
  if not v[1] then return nil end
  return {
    id = id, status = v[1], type = v[2], queue = v[3], labels = v[4] or '{}', createdAt = tonumber(v[5]) or 0,
    attempts = v[6] or '[]', idempotencyKey = v[7] or '', parentId = v[8] or ''
  }
end

local function canMove(from, to)
  local targets = TRANSITIONS[from]
  return targets ~= nil and targets[to] == true
end

local function emit(kind, rec, at, data)
  local dataJson = data and cjson.encode(data) or '{}'
  local cursor = rcall('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*',
    'k', kind, 'id', rec.id, 'q', rec.queue, 't', rec.type, 's', rec.status, 'at', at, 'l', rec.labels, 'd', dataJson)
  rcall('PUBLISH', K_LIVE, cursor .. '\n' .. kind .. '\n' .. rec.id .. '\n' .. rec.queue .. '\n' .. rec.type ..
    '\n' .. rec.status .. '\n' .. at .. '\n' .. rec.labels .. '\n' .. dataJson)
  return cursor
end

local function indexKeys(rec)
  local keys = {K_IDX .. 'all', K_IDX .. 'type:' .. rec.type, K_IDX .. 'queue:' .. rec.queue}
  local ok, labels = pcall(cjson.decode, rec.labels)
  if ok and type(labels) == 'table' then
    for k, v in pairs(labels) do keys[#keys + 1] = K_IDX .. 'label:' .. k .. '=' .. tostring(v) end
  end
  return keys
end

-- Move a task to a new status; false when the table forbids it (the record stays as it is).
local function setStatus(rec, to, at, extra)
  if not canMove(rec.status, to) then return false end
  rcall('ZREM', K_IDX .. 'status:' .. rec.status, rec.id)
  rcall('ZADD', K_IDX .. 'status:' .. to, rec.createdAt, rec.id)
  rec.status = to
  local fields = {'status', to, 'updatedAt', at}
  if extra then for i = 1, #extra do fields[#fields + 1] = extra[i] end end
  rcall('HSET', K_TASK .. rec.id, unpack(fields))
  if FINAL[to] then
    rcall('HSET', K_TASK .. rec.id, 'finishedAt', at)
    rcall('ZADD', K_IDX .. 'finished', at, rec.id)
  else
    rcall('ZREM', K_IDX .. 'finished', rec.id)
  end
  return true
end

-- Attempts are kept as a JSON array on the record: one entry per run of the handler.
local function updateAttempts(rec, change)
  local ok, attempts = pcall(cjson.decode, rec.attempts)
  if not ok or type(attempts) ~= 'table' then attempts = {} end
  local result = change(attempts)
  rec.attempts = #attempts == 0 and '[]' or cjson.encode(attempts)
  rcall('HSET', K_TASK .. rec.id, 'attempts', rec.attempts, 'attemptsMade', #attempts)
  return result
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
