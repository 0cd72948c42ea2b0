--[[
  Append lines to a task's log and announce each, in one call.

  KEYS[1] Taskplane event stream  KEYS[2] the task's log list
  ARGV[1] task key prefix  ARGV[2] index key prefix  ARGV[3] stream cap
  ARGV[4] task id  ARGV[5] now (ms)  ARGV[6] lines kept per task  ARGV[7..] lines
  Returns the number of lines written (0 when the task has no record).
]]
local K_TASK, K_IDX, MAXLEN, K_EVENTS

--@include common

--@call
K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[1]
begin()
local rec = loadRecord(ARGV[4])
if rec == nil then return 0 end
local at = tonumber(ARGV[5])
for i = 7, #ARGV do
  rcall('RPUSH', KEYS[2], cjson.encode({at = at, line = ARGV[i]}))
  emit('log', rec, at, {line = ARGV[i]})
end
rcall('LTRIM', KEYS[2], -tonumber(ARGV[6]), -1)
saveRecords()
return #ARGV - 6
