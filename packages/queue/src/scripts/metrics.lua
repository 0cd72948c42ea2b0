-- Metrics over time, counted in the same call that records each transition (included by
-- common.lua, so every script that writes a record counts what it writes, exactly once).
-- One hash per queue per minute, `<prefix>:metrics:<queue>:m:<minute>` (keys.ts metricsMinute):
--   `<type>|<counter>`         a transition, counted where its event is written (emit)
--   `<type>|run|<bucket>`      an attempt's run time, when it ends (closeAttempt)
--   `<type>|wait|<bucket>`     a start's wait since the task could run
-- Durations are DDSketch buckets of milliseconds: bucket = ceil(log(ms) / log(gamma)), so they
-- merge across minutes, queues and types by adding counts, and percentiles are read back within
-- 1 %. No EXPIRE here: the metrics keeper sets it when it folds the minute into its hour and the
-- totals (metrics-fold.lua), so a minute cannot expire before it is counted there.
local K_METRICS -- set by begin() (common.lua)
local METRIC_OF_EVENT = __METRIC_OF_EVENT__
local METRIC_LOG_GAMMA = __METRIC_LOG_GAMMA__

-- Keys by queue and minute, built once per call (a call applies many events of one minute); emptied
-- by begin().
local METRIC_KEYS = {}

local function metricsKey(queue, at)
  local minute = math.floor(at / 60000)
  local byMinute = tableAt(METRIC_KEYS, queue)
  local key = byMinute[minute]
  if key == nil then
    key = K_METRICS .. queue .. ':m:' .. num(minute)
    byMinute[minute] = key
  end
  return key
end

local function metricsSample(rec, sketch, ms, at)
  local bucket = 0
  if ms > 1 then bucket = math.ceil(math.log(ms) / METRIC_LOG_GAMMA) end
  -- num: the bucket's text made with %d once per call, not by Lua's floating-point tostring.
  hashIncr(metricsKey(rec.queue, at), rec.type .. '|' .. sketch .. '|' .. num(bucket), 1)
end

-- Called by emit: one HINCRBY per counted event, and a start's wait: since the last status change
-- (submitted, ready, handed back, stalled) or, when later, the end of its delay or backoff (runAt).
local function metricsCount(kind, rec, at, data)
  local counter = METRIC_OF_EVENT[kind]
  if counter == nil then return end
  hashIncr(metricsKey(rec.queue, at), rec.type .. '|' .. counter, 1)
  if kind == 'started' and not (data and data.resumed) then
    -- The record as loaded says when it last changed and when its delay or backoff ended.
    metricsSample(rec, 'wait', at - math.max(rec.previousChangeAt or at, rec.runAt or 0), at)
  end
end

-- Called by closeAttempt: the run time of an attempt that ended (not of one whose worker vanished).
local function metricsAttemptEnded(rec, attempt, at, stalled)
  if stalled or type(attempt.startedAt) ~= 'number' then return end
  metricsSample(rec, 'run', at - attempt.startedAt, at)
end
