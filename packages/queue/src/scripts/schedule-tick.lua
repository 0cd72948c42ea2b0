-- Records one tick of a schedule and advances its next run, in one call: a tick is recorded and
-- its successor set together or not at all, and only by the first caller (compare-and-set on
-- `nextRunAt`), so two schedulers racing on a tick record it once.
--
-- When `nextRunAt` is no longer the tick's (another scheduler recorded it, or the schedule was
-- paused or changed while the tick fired), the outcome is still recorded unless the history has it
-- already (the same task, or for a skipped tick the same tick): a tick whose task was submitted is
-- never missing from the history. The next run is then left as it is.
--
-- KEYS[1] schedule hash   KEYS[2] due index   KEYS[3] tick history   KEYS[4] schedules stream
-- ARGV[1] expected nextRunAt ('' = a manual trigger: the next run is left alone)
-- ARGV[2] new nextRunAt ('' = none)   ARGV[3] task id ('' = none)   ARGV[4] outcome JSON
-- ARGV[5] event JSON   ARGV[6] ticks kept   ARGV[7] stream cap   ARGV[8] schedule id
-- Returns 1 when recorded, 0 when the tick was already recorded (or the schedule is gone).
local rcall = redis.call
local current = rcall('HGET', KEYS[1], 'nextRunAt')
if not current then return 0 end
if ARGV[1] ~= '' then
  if current == ARGV[1] then
    rcall('HSET', KEYS[1], 'nextRunAt', ARGV[2])
    if ARGV[2] == '' then rcall('ZREM', KEYS[2], ARGV[8]) else rcall('ZADD', KEYS[2], ARGV[2], ARGV[8]) end
  else
    local outcome = cjson.decode(ARGV[4])
    for _, raw in ipairs(rcall('LRANGE', KEYS[3], 0, -1)) do
      local ok, seen = pcall(cjson.decode, raw)
      if ok and type(seen) == 'table' and seen.manual ~= true then
        if ARGV[3] ~= '' and seen.taskId == ARGV[3] then return 0 end
        if ARGV[3] == '' and seen.taskId == cjson.null and seen.tick == outcome.tick then return 0 end
      end
    end
  end
end
if ARGV[3] ~= '' then rcall('HSET', KEYS[1], 'lastTaskId', ARGV[3]) end
rcall('HSET', KEYS[1], 'lastOutcome', ARGV[4])
rcall('LPUSH', KEYS[3], ARGV[4])
rcall('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
rcall('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'e', ARGV[5])
return 1
