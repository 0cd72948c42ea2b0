--[[
  Queue preemption: choose the running task an urgent one takes the slot of, and mark it, in one
  call, so concurrent submits never pick the same victim and each urgent task gets at most one.
  The caller then tells the victim's worker (control stream); the worker hands the task back, and
  the projection of that hand-back records the preemption on both tasks (project.lua, 'waiting').

  A victim is chosen only when the queue is full (BullMQ's active list holds `slots` jobs or more),
  the urgent task is not running already, and some running task below the threshold (whose start
  the record shows: the caller projects first) is not yet promised to another urgent task: the lowest priority of those, the most recently started among
  equals (least work thrown away).

  KEYS[1] Taskplane event stream
  ARGV[1] task key prefix  ARGV[2] index key prefix  ARGV[3] stream cap
  ARGV[4] BullMQ key prefix ("<prefix>:q:")  ARGV[5] queue  ARGV[6] urgent task id
  ARGV[7] threshold (priority)  ARGV[8] slots (the queue's concurrency across its workers)
  Returns the victim's id, or false.
]]
local K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[1]
local BULL = ARGV[4]

--@include common
--@include bull

local QUEUE, URGENT, BELOW, SLOTS = ARGV[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
if SLOTS < 1 then return false end
-- Twice the slots: a queue just made smaller still lists its running tasks in full.
local count, active = bullActiveJobs(QUEUE, SLOTS * 2 + 8)
if count < SLOTS then return false end
local victim, lowest = nil, BELOW
for _, id in ipairs(active) do
  if id == URGENT then return false end
  local v = rcall('HMGET', K_TASK .. id, 'priority', 'preemptedBy', 'status')
  local priority = tonumber(v[1])
  -- Only a start already recorded: the projection of a later one would void the mark.
  if priority and (v[2] == false or v[2] == '') and v[3] == 'running' and priority < lowest then
    victim, lowest = id, priority
  end
end
if victim == nil then return false end
local rec = loadRecord(victim)
set(rec, 'preemptedBy', URGENT)
saveRecords()
return victim
