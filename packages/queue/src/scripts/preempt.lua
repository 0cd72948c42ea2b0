--[[
  Queue preemption: for urgent tasks just submitted, choose the running tasks whose slots they
  take, and mark them, in one call, so concurrent submits never pick the same victim and each
  urgent task gets at most one. The caller then tells each victim's worker (control stream); the
  worker hands the task back, and the projection of that hand-back records the preemption on both
  tasks (project.lua, 'waiting').

  The queue is full when its taken slots reach `slots`: BullMQ's active jobs, plus urgent tasks
  granted a slot that have not started yet (KEYS[2]), minus active tasks already marked (their
  slots are the granted ones). Then a victim is any running task below the threshold whose start
  the record shows (the caller projects first) and that is not marked yet: the lowest priority,
  the most recently started among equals (least work thrown away).

  KEYS[1] Taskplane event stream   KEYS[2] the queue's set of granted urgent tasks
  ARGV[1] task key prefix  ARGV[2] index key prefix  ARGV[3] stream cap
  ARGV[4] BullMQ key prefix ("<prefix>:q:")  ARGV[5] queue
  ARGV[6] threshold (priority)  ARGV[7] slots (the queue's concurrency across its workers)
  ARGV[8..] urgent task ids, most urgent first
  Returns a flat list {victim, urgent, victim, urgent, ...}.
]]
local K_TASK, K_IDX, MAXLEN, K_EVENTS, BULL

--@include common
--@include bull

--@call
K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[1]
BULL = ARGV[4]
local K_GRANTS = KEYS[2]
begin()
local QUEUE, BELOW, SLOTS = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
if SLOTS < 1 then return {} end
-- Twice the slots: a queue just made smaller still lists its running tasks in full.
local count, active = bullActiveJobs(QUEUE, SLOTS * 2 + 8)
local isActive, candidates, marked = {}, {}, 0
for _, id in ipairs(active) do
  isActive[id] = true
  local v = rcall('HMGET', K_TASK .. id, 'priority', 'preemptedBy', 'status')
  local priority = tonumber(v[1])
  if v[2] and v[2] ~= '' then
    marked = marked + 1
  elseif priority and v[3] == 'running' and priority < BELOW then
    candidates[#candidates + 1] = {id = id, priority = priority}
  end
end
-- Grants end when their task starts, or leaves the queue's waiting tasks some other way.
local promised = 0
for _, id in ipairs(rcall('SMEMBERS', K_GRANTS)) do
  if not isActive[id] and rcall('HGET', K_TASK .. id, 'status') == 'pending' then
    promised = promised + 1
  else
    rcall('SREM', K_GRANTS, id)
  end
end
if count + promised - marked < SLOTS then return {} end

local chosen = {}
for i = 8, #ARGV do
  local urgent = ARGV[i]
  if not isActive[urgent] and rcall('SISMEMBER', K_GRANTS, urgent) == 0 then
    local best = nil
    for j, c in ipairs(candidates) do
      if not c.taken and (best == nil or c.priority < candidates[best].priority) then best = j end
    end
    if best == nil then break end
    local victim = candidates[best]
    victim.taken = true
    set(loadRecord(victim.id), 'preemptedBy', urgent)
    rcall('SADD', K_GRANTS, urgent)
    chosen[#chosen + 1] = victim.id
    chosen[#chosen + 1] = urgent
  end
end
saveRecords()
return chosen
