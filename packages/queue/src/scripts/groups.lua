-- Fair groups (included after common and bull). A grouped task's job is added parked, like a task
-- with dependencies, and its id waits in its group's lane (a sorted set by priority, then submit
-- order). The groups with parked tasks form a ring; whenever a script call changes a grouped
-- task's status, it ends by dispatching (groupsFlush): groups take turns, each turn moving the
-- head of one group's lane into BullMQ (bullPromoteParked), until the queue's window of grouped
-- jobs waiting in BullMQ is full. Counting, turns and promotion happen in the script call that
-- records the change, so no process has to survive between "a slot came free" and "the next task
-- is runnable".
--
-- Per group, in `<prefix>:queue:<queue>:groups` (group -> "w q r f ring"):
--   w  parked: in the lane
--   q  queued: taken from the lane (or back from a worker) and not started: pending in BullMQ
--   r  running
--   f  in flight: taken from the lane and not finished (queued, running, retrying, fanned out);
--      the group's concurrency limit holds this below the limit, so a retry cannot exceed it
--   ring  1 while the group is in the ring
-- The counts move with the record's status (setStatus calls GROUP_MOVE), so they are exactly as
-- consistent as the records: a stalled task's `pending` and its next `running` and end are each
-- counted once, and its slot is freed when its end is recorded.

local K_QUEUES -- set per call (GROUP_BEGIN)
local DEFAULT_GROUP_WINDOW = __GROUP_WINDOW__
local PRIORITY_TOP = __PRIORITY_MAX__
-- Turns one dispatch takes at most beyond its window (groups leaving the ring), bounding the call.
local MAX_SKIPS = 1000

local function groupsKey(queue, suffix) return K_QUEUES .. queue .. ':groups' .. suffix end
local function laneKey(queue, group) return K_QUEUES .. queue .. ':group:' .. group .. ':lane' end
local function startsKey(queue, group) return K_QUEUES .. queue .. ':group:' .. group .. ':starts' end

-- Queues touched by this call: their limits and state, read once and written back by groupsFlush.
local GROUP_QUEUES = {}

GROUP_BEGIN = function()
  K_QUEUES = string.gsub(K_TASK, 'task:$', 'queue:')
  GROUP_QUEUES = {}
end

local function queueGroups(queue)
  local q = GROUP_QUEUES[queue]
  if q then return q end
  local v = rcall('HMGET', groupsKey(queue, ':state'), 'concurrency', 'rateMax', 'rateDuration', 'window', 'below',
    'queued', 'seq')
  q = {
    concurrency = tonumber(v[1]), rateMax = tonumber(v[2]), rateDuration = tonumber(v[3]),
    window = tonumber(v[4]) or DEFAULT_GROUP_WINDOW, below = tonumber(v[5]), queued = tonumber(v[6]) or 0,
    seq = tonumber(v[7]) or 0, groups = {}, urgent = {}, dirty = false
  }
  if not (q.rateMax and q.rateDuration) then q.rateMax = nil end
  GROUP_QUEUES[queue] = q
  return q
end

local function groupOf(queue, name)
  local q = queueGroups(queue)
  local g = q.groups[name]
  if g then return g end
  g = {name = name, w = 0, q = 0, r = 0, f = 0, ring = 0}
  local raw = rcall('HGET', groupsKey(queue, ''), name)
  if raw then
    local w, qd, r, f, ring = string.match(raw, '^(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+) (%d)$')
    if w then
      g.w, g.q, g.r, g.f, g.ring = tonumber(w), tonumber(qd), tonumber(r), tonumber(f), tonumber(ring)
    end
  end
  q.groups[name] = g
  return g
end

local function ringJoin(queue, g)
  if g.w > 0 and g.ring == 0 then
    rcall('RPUSH', groupsKey(queue, ':ring'), g.name)
    g.ring = 1
  end
end

-- Lane order: higher priority first, then submit order (newest first for LIFO tasks).
local function laneScore(q, priority, order)
  q.seq = q.seq + 1
  local band = (PRIORITY_TOP - (tonumber(priority) or 5)) * 2 ^ 48
  if order == 'lifo' then return band + 2 ^ 47 - q.seq end
  return band + 2 ^ 47 + q.seq
end

local function laneAdd(rec, q, g, priority, order)
  rcall('ZADD', laneKey(rec.queue, g.name), laneScore(q, priority, order), rec.id)
  g.w = g.w + 1
  q.dirty = true
  ringJoin(rec.queue, g)
end

-- A new grouped task (its job was added parked): into its lane. An urgent one (at or above the
-- queue's preemption threshold) takes its group's turn at once, ahead of the ring and the window.
local function groupPark(rec, priority, order)
  rcall('HSET', K_TASK .. rec.id, 'group', rec.group)
  local q = queueGroups(rec.queue)
  laneAdd(rec, q, groupOf(rec.queue, rec.group), priority, order)
  if q.below and (tonumber(priority) or 0) >= q.below then q.urgent[rec.group] = true end
end

-- A grouped task moved from one status to another (called by setStatus).
GROUP_MOVE = function(rec, from, to, at)
  local q = queueGroups(rec.queue)
  local g = groupOf(rec.queue, rec.group)
  q.dirty = true
  local parked = false
  if from == 'pending' then
    parked = rcall('ZREM', laneKey(rec.queue, rec.group), rec.id) == 1
    if parked then
      -- Left its lane without a turn: cancelled (its parked job goes with it, in this same call),
      -- or its job was run by other means.
      g.w = g.w - 1
      if FINAL[to] then bullRemoveParked(rec.queue, rec.id) else g.f = g.f + 1 end
    else
      g.q = g.q - 1
      q.queued = q.queued - 1
    end
  elseif to == 'pending' and not FINAL[from] then
    -- Back in BullMQ's waiting jobs (stalled, handed back, preempted, its children done).
    g.q = g.q + 1
    q.queued = q.queued + 1
  end
  if from == 'running' then g.r = g.r - 1 end
  if to == 'running' then
    g.r = g.r + 1
    if q.rateMax then
      local key = startsKey(rec.queue, rec.group)
      rcall('LPUSH', key, at)
      rcall('LTRIM', key, 0, q.rateMax - 1)
      rcall('PEXPIRE', key, q.rateDuration)
    end
  end
  if FINAL[to] and not FINAL[from] and not parked then g.f = g.f - 1 end
  if FINAL[from] and not FINAL[to] then
    -- Run again by hand: TaskEngine.requeue added its job parked again.
    local v = rcall('HMGET', K_TASK .. rec.id, 'priority', 'order')
    laneAdd(rec, q, g, v[1], v[2])
  end
  ringJoin(rec.queue, g)
end

local function nowMs()
  local t = rcall('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- One turn of a group: its lane's head goes to BullMQ when the group's limits allow. Returns true
-- when the group stays in the ring (it took its turn); false when it leaves it until one of its
-- own tasks moves (lane empty, at its concurrency limit, or waiting for a rate token).
local function takeTurn(queue, q, g)
  if g.w <= 0 then return false end
  if q.concurrency and g.f >= q.concurrency then return false end
  local lane = laneKey(queue, g.name)
  local head = rcall('ZRANGE', lane, 0, 0)[1]
  if not head then
    g.w = 0
    return false
  end
  local due = nil
  if q.rateMax then
    -- At most rateMax starts in any rateDuration: started ones within the last rateDuration plus
    -- those on their way (queued) must leave a token. Out of tokens with none on its way, the head
    -- is scheduled for when the oldest of those starts leaves the window; with some on their way,
    -- the group waits for them to start (their start puts it back in the ring).
    q.now = q.now or nowMs()
    local starts = rcall('LRANGE', startsKey(queue, g.name), 0, q.rateMax - 1)
    local recent = 0
    for _, t in ipairs(starts) do
      if tonumber(t) > q.now - q.rateDuration then recent = recent + 1 end
    end
    if recent + g.q >= q.rateMax then
      if g.q > 0 then return false end
      due = tonumber(starts[q.rateMax]) + q.rateDuration
    end
  end
  rcall('ZREM', lane, head)
  g.w, g.q, g.f = g.w - 1, g.q + 1, g.f + 1
  q.queued = q.queued + 1
  if due then
    bullScheduleParked(queue, head, due, q.now)
    return false
  end
  -- A job that is not parked any more (run by other means) is counted as taken all the same: its
  -- record's next move says where it went.
  bullPromoteParked(queue, head)
  return true
end

local function groupDispatch(queue, q)
  for name in pairs(q.urgent) do takeTurn(queue, q, groupOf(queue, name)) end
  local ring = groupsKey(queue, ':ring')
  local budget = q.window - q.queued
  local skips = 0
  while budget > 0 and skips <= MAX_SKIPS do
    local name = rcall('LMOVE', ring, ring, 'LEFT', 'RIGHT')
    if not name then break end
    local g = groupOf(queue, name)
    local stays = takeTurn(queue, q, g)
    if stays then budget = budget - 1 else skips = skips + 1 end
    if not stays or g.w <= 0 then
      -- The group is the ring's tail now: leaving is one RPOP.
      rcall('RPOP', ring)
      g.ring = 0
    end
  end
end

-- End of a script call: dispatch every queue whose grouped tasks moved, and write the counts back.
local function groupsFlush()
  for queue, q in pairs(GROUP_QUEUES) do
    if q.dirty then groupDispatch(queue, q) end
    local counts = groupsKey(queue, '')
    for name, g in pairs(q.groups) do
      local w, qd, r, f = math.max(g.w, 0), math.max(g.q, 0), math.max(g.r, 0), math.max(g.f, 0)
      if w + qd + r + f + g.ring == 0 then
        rcall('HDEL', counts, name)
      else
        rcall('HSET', counts, name, w .. ' ' .. qd .. ' ' .. r .. ' ' .. f .. ' ' .. g.ring)
      end
    end
    rcall('HSET', groupsKey(queue, ':state'), 'queued', math.max(q.queued, 0), 'seq', q.seq)
  end
  GROUP_QUEUES = {}
end
