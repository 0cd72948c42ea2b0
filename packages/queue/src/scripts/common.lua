-- Shared by every Taskplane script (prepended at load time). Writes a task record, its indexes and
-- the event announcing the change in the same script call: a change and its event exist together
-- or not at all.
--
-- Expected locals declared by the including script before the include line, and set by it on
-- each call, before it calls begin():
--   K_TASK   task record key prefix ("<prefix>:task:")
--   K_IDX    index key prefix       ("<prefix>:idx:")
--   K_EVENTS event stream key
--   MAXLEN   approximate event stream cap
-- Scripts are functions of one library (scripts.ts): what is defined here is defined once, when
-- the library loads, and outlives calls. So everything a call sets or gathers is set afresh by
-- begin(), never left to the previous call (which may have failed midway).
-- redis.call, set by begin(): a library cannot call Redis while it loads.
local rcall

-- Gathered writes. A call that applies many changes (project.lua applies up to a thousand BullMQ
-- events) gathers its index and metric writes and makes one ZADD, ZREM or HINCRBY per key and
-- field at its end (flushWrites): each Redis call from a script costs about as much again as the
-- command itself, and per change this was two thirds of the projection's calls. Scripts that
-- change one task write at once (GATHER stays nil). Nothing in a gathering call reads an index
-- or a metric back, so the writes only have to be there when the call ends.
local GATHER = nil

-- A number as Redis will get it, made here: Redis turns a number argument into text with
-- snprintf("%.17g"), glibc's floating-point path of thousands of instructions (callgrind: a tenth
-- of the projection's whole cost), where an integer formatted with %d takes the integer path.
-- Timestamps repeat within a call, so each is formatted once (NUMBERS, emptied by begin()), and
-- one read as text (an entry id's time, a stored timestamp) keeps that text (numberOf).
-- Anything but an integer is left as it is.
local NUMBERS = {}

-- tonumber(text), remembering `text` as the number's form: only for text in canonical form (a
-- stream entry's time, a timestamp Redis or this code wrote).
local function numberOf(text)
  if not text then return nil end
  local n = tonumber(text)
  if n ~= nil then NUMBERS[n] = text end
  return n
end

local function num(n)
  if type(n) ~= 'number' then return n end
  local text = NUMBERS[n]
  if text == nil then
    if n % 1 == 0 and n > -1e15 and n < 1e15 then text = string.format('%d', n) else text = n end
    NUMBERS[n] = text
  end
  return text
end

-- The table under `key` in `map`, made if missing.
local function tableAt(map, key)
  local t = map[key]
  if t == nil then
    t = {}
    map[key] = t
  end
  return t
end

local function gatherWrites()
  GATHER = {zset = {}, counts = {}}
end

-- Put `id` in the sorted set `key` with `score`, or take it out (score false): the last change
-- of a member in a call is the one written. `absentBefore` says the member was not in the set
-- when the call began (a status the task did not have then): taking it out only undoes this
-- call's own add, so nothing is written for it (a task started and finished in one call never
-- touches the `running` index).
local function zsetWrite(key, id, score, absentBefore)
  if GATHER == nil then
    if score then rcall('ZADD', key, num(score), id) else rcall('ZREM', key, id) end
    return
  end
  if score == false and absentBefore then score = nil end
  tableAt(GATHER.zset, key)[id] = score
end

local function hashIncr(key, field, by)
  if GATHER == nil then
    rcall('HINCRBY', key, field, num(by))
    return
  end
  local fields = tableAt(GATHER.counts, key)
  fields[field] = (fields[field] or 0) + by
end

-- Arguments in chunks, below Lua's limit on unpack's results.
local function callChunked(command, key, args)
  for i = 1, #args, 4000 do
    rcall(command, key, unpack(args, i, math.min(i + 3999, #args)))
  end
end

local function flushWrites()
  if GATHER == nil then return end
  for key, members in pairs(GATHER.zset) do
    local adds, removes = {}, {}
    for id, score in pairs(members) do
      if score then
        adds[#adds + 1] = num(score)
        adds[#adds + 1] = id
      else
        removes[#removes + 1] = id
      end
    end
    callChunked('ZADD', key, adds)
    callChunked('ZREM', key, removes)
  end
  for key, fields in pairs(GATHER.counts) do
    for field, by in pairs(fields) do
      if by ~= 0 then rcall('HINCRBY', key, field, num(by)) end
    end
  end
  if GATHER.trim then rcall('XTRIM', K_EVENTS, 'MAXLEN', '~', MAXLEN) end
  GATHER = {zset = {}, counts = {}}
end

--@include metrics

-- The one transition table, generated from packages/core task-status.ts.
local TRANSITIONS = __TRANSITIONS__
local FINAL = __FINAL__

-- What every call reads of a record: its core fields, then the optional ones it has. Asking a hash
-- for a field it lacks costs a scan of its whole listpack (callgrind: about 30k of the 41k
-- instructions of a load of all 17 fields, a twentieth of the projection), and most records have
-- none or one of the optional fields. So a record carries `o`, the codes of the optional fields it
-- has ('' for none), written with them: at its creation, and by save when a field is new to it.
-- Records without `o` (written before it, or by hand) are read in full.
local CORE_FIELDS = {'status', 'o', 'type', 'queue', 'createdAt', 'attempts', 'updatedAt'}
local OPTIONAL_CODES = {labels = 'l', idempotencyKey = 'i', parentId = 'p', runStart = 'r', resumes = 's',
  scheduleId = 'c', workflowId = 'w', onDepFail = 'd', preemptedBy = 'e', group = 'g', runAt = 'a'}
-- By code, and every code (a record without `o` may have any): made from OPTIONAL_CODES by begin(),
-- as a library cannot call functions while it loads.
local OPTIONAL_FIELDS, ALL_CODES

-- Records loaded by this call, so their gathered writes can be saved together (saveRecords). A
-- record loaded twice before that is the same table: its pending writes are the truth.
local RECORDS = {}
local LOADED = {}

local function track(rec)
  RECORDS[#RECORDS + 1] = rec
  LOADED[rec.id] = rec
  return rec
end

local function loadRecord(id)
  if LOADED[id] then return LOADED[id] end
  local key = K_TASK .. id
  local v = rcall('HMGET', key, unpack(CORE_FIELDS))
  if not v[1] then return nil end
  -- The optional fields it has, by name (all of them for a record without `o`).
  local codes = v[2] or ALL_CODES
  local o = {}
  if codes ~= '' then
    local names = {}
    for code in string.gmatch(codes, '%a') do names[#names + 1] = OPTIONAL_FIELDS[code] end
    local values = rcall('HMGET', key, unpack(names))
    for i, name in ipairs(names) do o[name] = values[i] end
  end
  -- `loadedStatus`: the status, and so the status index, the task had when this call began.
  return track({
    id = id, status = v[1], loadedStatus = v[1], codes = v[2], type = v[3], queue = v[4], labels = o.labels or '{}',
    createdAt = numberOf(v[5]) or 0, attempts = v[6] or '[]', idempotencyKey = o.idempotencyKey or '',
    parentId = o.parentId or '', runStart = tonumber(o.runStart) or 0, resumes = tonumber(o.resumes) or 0,
    scheduleId = o.scheduleId or '', workflowId = o.workflowId or '', onDepFail = o.onDepFail or 'cancel',
    preemptedBy = o.preemptedBy or '', group = o.group or '', changedAt = tonumber(v[7]), runAt = tonumber(o.runAt)
  })
end

local function canMove(from, to)
  local targets = TRANSITIONS[from]
  return targets ~= nil and targets[to] == true
end

local function emit(kind, rec, at, data)
  metricsCount(kind, rec, at, data)
  local fields = {'k', kind, 'id', rec.id, 'q', rec.queue, 't', rec.type, 's', rec.status, 'at', num(at)}
  -- Labels and data are left out when empty (the readers default them to {}): most events have
  -- neither, and each field costs the stream entry's bytes and the XADD's time.
  if rec.labels ~= '{}' and rec.labels ~= '' then
    fields[#fields + 1] = 'l'
    fields[#fields + 1] = rec.labels
  end
  -- `data` is a table, or its JSON when the caller has it (a constant) already.
  if type(data) == 'string' then
    fields[#fields + 1] = 'd'
    fields[#fields + 1] = data
  elseif data and next(data) ~= nil then
    fields[#fields + 1] = 'd'
    fields[#fields + 1] = cjson.encode(data)
  end
  -- A scheduled task's events carry its schedule, and a workflow node's its workflow, so
  -- subscriptions filter on them without a read.
  if rec.scheduleId and rec.scheduleId ~= '' then
    fields[#fields + 1] = 'sc'
    fields[#fields + 1] = rec.scheduleId
  end
  if rec.workflowId and rec.workflowId ~= '' then
    fields[#fields + 1] = 'wf'
    fields[#fields + 1] = rec.workflowId
  end
  -- A gathering call's events after its first leave trimming to one XTRIM at its end (flushWrites):
  -- three arguments less per XADD (callgrind: 1 % of the projection), and a call with one event
  -- (a single submit's) makes no XTRIM. Nobody sees the stream in between, the call being atomic.
  if GATHER ~= nil then
    if GATHER.emitted then
      GATHER.trim = true
      return rcall('XADD', K_EVENTS, '*', unpack(fields))
    end
    GATHER.emitted = true
  end
  return rcall('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*', unpack(fields))
end

-- Workflows: a hash per workflow counts its nodes per status (`c:<status>`), kept here as nodes
-- move, so its status and finish time follow from its nodes without reading them. Keys as in
-- keys.ts: `<prefix>:workflow:<id>` and `<prefix>:workflows:*`, derived from the task prefix.
local K_WF, K_WFS

local function workflowStatusOf(c, size)
  local finished, active = 0, 0
  for status, _ in pairs(FINAL) do finished = finished + (c[status] or 0) end
  active = (c['running'] or 0) + (c['retrying'] or 0)
  if size > 0 and finished >= size then
    if (c['success'] or 0) >= size then return 'succeeded' end
    if (c['failed'] or 0) + (c['dead_lettered'] or 0) > 0 then return 'failed' end
    return 'cancelled'
  end
  if active > 0 or finished > 0 then return 'running' end
  return 'pending'
end

-- A node of workflow `wf` moved from `from` (nil = it was just created) to `to`.
local function workflowMove(wf, from, to, at)
  local key = K_WF .. wf
  -- A workflow retention trimmed (workflow-trim.lua) stays gone: its counts are not begun again.
  if from and rcall('EXISTS', key) == 0 then return end
  if from then rcall('HINCRBY', key, 'c:' .. from, -1) end
  rcall('HINCRBY', key, 'c:' .. to, 1)
  local raw = rcall('HGETALL', key)
  local h, c = {}, {}
  for i = 1, #raw, 2 do
    h[raw[i]] = raw[i + 1]
    local status = string.match(raw[i], '^c:(.+)$')
    if status then c[status] = tonumber(raw[i + 1]) end
  end
  local size = tonumber(h.size) or 0
  local status = workflowStatusOf(c, size)
  if status ~= h.status then
    if h.status then rcall('ZREM', K_WFS .. 'status:' .. h.status, wf) end
    rcall('ZADD', K_WFS .. 'status:' .. status, tonumber(h.createdAt) or at, wf)
    rcall('HSET', key, 'status', status)
  end
  local done = status == 'succeeded' or status == 'failed' or status == 'cancelled'
  if done and not h.finishedAt then rcall('HSET', key, 'finishedAt', at)
  elseif not done and h.finishedAt then rcall('HDEL', key, 'finishedAt') end
end

local function indexKeys(rec)
  local keys = {K_IDX .. 'all', K_IDX .. 'type:' .. rec.type, K_IDX .. 'queue:' .. rec.queue}
  if rec.scheduleId and rec.scheduleId ~= '' then keys[#keys + 1] = K_IDX .. 'schedule:' .. rec.scheduleId end
  if rec.group and rec.group ~= '' then keys[#keys + 1] = K_IDX .. 'group:' .. rec.group end
  if rec.labels == '{}' or rec.labels == '' then return keys end
  local ok, labels = pcall(cjson.decode, rec.labels)
  if ok and type(labels) == 'table' then
    for k, v in pairs(labels) do keys[#keys + 1] = K_IDX .. 'label:' .. k .. '=' .. tostring(v) end
  end
  return keys
end

-- Field writes to a record are gathered on it (the last value of a field wins) and written by
-- one HSET in save().
local function set(rec, ...)
  local dirty = rec.dirty
  if dirty == nil then
    -- Sized for a task's usual writes at once (the nils count), not rehashed as they come.
    dirty = {status = nil, updatedAt = nil, attempts = nil, finishedAt = nil, result = nil, progress = nil,
      runAt = nil, lastError = nil}
    rec.dirty = dirty
  end
  local args = {...}
  for i = 1, #args, 2 do dirty[args[i]] = args[i + 1] end
end

local function save(rec)
  if rec and rec.dirty then
    local args = {}
    -- Optional fields new to the record join its `o` (see CORE_FIELDS) in the same write.
    local codes = rec.codes
    for field, value in pairs(rec.dirty) do
      args[#args + 1] = field
      args[#args + 1] = num(value)
      local code = codes and OPTIONAL_CODES[field]
      if code and not string.find(codes, code, 1, true) then codes = codes .. code end
    end
    if codes ~= rec.codes then
      rec.codes = codes
      args[#args + 1] = 'o'
      args[#args + 1] = codes
    end
    if #args > 0 then rcall('HSET', K_TASK .. rec.id, unpack(args)) end
    rec.dirty = nil
  end
end

local function saveRecords()
  for _, rec in ipairs(RECORDS) do save(rec) end
  RECORDS = {}
  LOADED = {}
end

-- Set by groups.lua, in the scripts that include it: a grouped task's counts follow its status,
-- and its state of a call starts empty.
local GROUP_MOVE = nil
local GROUP_BEGIN = nil

-- Move a task to a new status; false when the table forbids it (the record stays as it is).
local function setStatus(rec, to, at, extra)
  if not canMove(rec.status, to) then return false end
  local from = rec.status
  -- What the task had when this call began (nil: created in this call, in no index yet).
  local was = rec.loadedStatus
  zsetWrite(K_IDX .. 'status:' .. from, rec.id, false, from ~= was)
  zsetWrite(K_IDX .. 'status:' .. to, rec.id, rec.createdAt)
  rec.status = to
  -- When the task last changed before this change: a start's wait is measured from it (metrics).
  rec.previousChangeAt = rec.changedAt
  rec.changedAt = at
  set(rec, 'status', to, 'updatedAt', at)
  if extra then
    set(rec, unpack(extra))
    for i = 1, #extra, 2 do
      if extra[i] == 'runAt' then rec.runAt = tonumber(extra[i + 1]) end
    end
  end
  if FINAL[to] then
    set(rec, 'finishedAt', at)
    zsetWrite(K_IDX .. 'finished', rec.id, at)
  elseif FINAL[from] then
    zsetWrite(K_IDX .. 'finished', rec.id, false, not (was and FINAL[was]))
  end
  -- The dead-letter queue in the order it grew (listing dead letters by when they died).
  if to == 'dead_lettered' then zsetWrite(K_IDX .. 'dead', rec.id, at)
  elseif from == 'dead_lettered' then zsetWrite(K_IDX .. 'dead', rec.id, false, was ~= 'dead_lettered') end
  if rec.workflowId and rec.workflowId ~= '' then workflowMove(rec.workflowId, from, to, at) end
  if GROUP_MOVE and rec.group and rec.group ~= '' then GROUP_MOVE(rec, from, to, at) end
  return true
end

-- Attempts are kept on the record as a compact JSON array of arrays, one per run of the handler,
-- across every time the task was run again by hand:
--   [attempt, startedAt, finishedAt or 0, workerId or '', flags, error or 0, preemptedBy or '']
-- flags: 's' stalled, 'p' preempted, 'h' handed back, 'f' fanned out; trailing defaults dropped.
-- Compact so a task's record stays under Redis' listpack limit (64-byte values): a one-attempt
-- success is ~48 bytes this way and ~125 as an array of objects, which turned the whole record
-- into a hashtable of 3x the memory. Records written as arrays of objects still read.
-- `runStart` is where the current run's attempts begin: attempt numbers and a task's attempts made
-- count within it, as BullMQ and the handler do. Preempted and handed-back attempts are listed but
-- not counted as made: neither uses up an attempt (BullMQ does not count them either). The count
-- and the run's start are not stored: readers derive them from these two fields (parseTaskRecord
-- in task-record.ts), which spares every start and finish a field write (callgrind, with a
-- success's progress: 4 % of the projection).
local function decodeAttempts(text)
  local ok, list = pcall(cjson.decode, text)
  if not ok or type(list) ~= 'table' then return {} end
  local out = {}
  for i, a in ipairs(list) do
    if a[1] == nil then
      out[i] = a
    else
      local flags = a[5] or ''
      local err = a[6]
      out[i] = {attempt = a[1], startedAt = a[2], finishedAt = (a[3] == 0 or a[3] == nil) and cjson.null or a[3],
        workerId = (a[4] == nil or a[4] == '') and cjson.null or a[4],
        error = (err == nil or err == 0) and cjson.null or err,
        stalled = string.find(flags, 's', 1, true) ~= nil, preempted = string.find(flags, 'p', 1, true) ~= nil or nil,
        handedBack = string.find(flags, 'h', 1, true) ~= nil or nil, fannedOut = string.find(flags, 'f', 1, true) ~= nil or nil,
        preemptedBy = (a[7] ~= nil and a[7] ~= '') and a[7] or nil}
    end
  end
  return out
end

local function encodeAttempts(list)
  if #list == 0 then return '[]' end
  local parts = {}
  for i, a in ipairs(list) do
    local flags = (a.stalled == true and 's' or '') .. (a.preempted == true and 'p' or '') ..
      (a.handedBack == true and 'h' or '') .. (a.fannedOut == true and 'f' or '')
    local fin = a.finishedAt
    local row = {a.attempt, a.startedAt, (fin == nil or fin == cjson.null) and 0 or fin,
      (a.workerId == nil or a.workerId == cjson.null) and '' or a.workerId, flags,
      (a.error == nil or a.error == cjson.null) and 0 or a.error, a.preemptedBy or ''}
    local n = 7
    while n > 3 and (row[n] == '' or row[n] == 0) do row[n] = nil; n = n - 1 end
    parts[i] = cjson.encode(row)
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

local function updateAttempts(rec, change)
  local attempts = decodeAttempts(rec.attempts)
  local result = change(attempts)
  rec.attempts = encodeAttempts(attempts)
  set(rec, 'attempts', rec.attempts)
  return result
end

-- The number of the current run's latest attempt (1 = its first).
local function currentAttempt(rec)
  return #decodeAttempts(rec.attempts) - rec.runStart
end

-- The common case without decoding: a task's only attempt, open, without flags, ends well.
local ONE_OPEN_ATTEMPT = '^%[%[(%d+),(%d+),0(,?"?[^",%]]*"?)%]%]$'

local function closeAttempt(rec, at, err, stalled)
  if err == nil and not stalled and rec.runStart == 0 then
    local n, startedAt, worker = string.match(rec.attempts, ONE_OPEN_ATTEMPT)
    if n then
      local last = {attempt = tonumber(n), startedAt = tonumber(startedAt), finishedAt = at}
      rec.attempts = '[[' .. n .. ',' .. startedAt .. ',' .. at .. worker .. ']]'
      set(rec, 'attempts', rec.attempts)
      metricsAttemptEnded(rec, last, at, false)
      return last
    end
  end
  return updateAttempts(rec, function(attempts)
    local last = attempts[#attempts]
    if last == nil or last.finishedAt ~= cjson.null then return nil end
    last.finishedAt = at
    if err then last.error = err end
    if stalled then last.stalled = true end
    metricsAttemptEnded(rec, last, at, stalled)
    return last
  end)
end

-- The start of every call of a script that includes this file, once the call has set the
-- expected locals: keys derived from the task prefix, and this call's own state.
local function begin()
  rcall = redis.call
  K_WF = string.gsub(K_TASK, 'task:$', 'workflow:')
  K_WFS = string.gsub(K_TASK, 'task:$', 'workflows:')
  K_METRICS = string.gsub(K_TASK, 'task:$', 'metrics:')
  GATHER = nil
  RECORDS = {}
  LOADED = {}
  METRIC_KEYS = {}
  NUMBERS = {}
  if OPTIONAL_FIELDS == nil then
    OPTIONAL_FIELDS, ALL_CODES = {}, ''
    for name, code in pairs(OPTIONAL_CODES) do
      OPTIONAL_FIELDS[code] = name
      ALL_CODES = ALL_CODES .. code
    end
  end
  if GROUP_BEGIN then GROUP_BEGIN() end
end
