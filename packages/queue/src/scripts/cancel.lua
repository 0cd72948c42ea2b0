--[[
  Mark a task cancelled, with its event, in one call. BullMQ has no "cancelled" state: the caller
  then removes the job (waiting) or aborts it on its worker (running), and the projector keeps the
  record cancelled whatever BullMQ says next.

  KEYS[1] Taskplane event stream
  ARGV[1] task key prefix  ARGV[2] index key prefix  ARGV[3] stream cap
  ARGV[4] task id          ARGV[5] now (ms)          ARGV[6] reason
  ARGV[7] idempotency key prefix  ARGV[8] idempotency window (seconds)
  ARGV[9] BullMQ key prefix ("<prefix>:q:")
  Tasks waiting on this one are settled in the same call (cancelled, or run anyway: deps.lua).
  Returns {"ok", previous status} | {"missing"} | {"refused", status}
]]
local K_TASK, K_IDX, MAXLEN, K_EVENTS, K_IDEM, IDEM_TTL, BULL

--@include common
--@include bull
--@include deps
--@include groups

--@call
K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[1]
K_IDEM, IDEM_TTL, BULL = ARGV[7], tonumber(ARGV[8]), ARGV[9]
begin()
local id, at, reason = ARGV[4], tonumber(ARGV[5]), ARGV[6]
local rec = loadRecord(id)
if rec == nil then return {'missing'} end
local previous = rec.status
if not canMove(previous, 'cancelled') then return {'refused', previous} end
closeAttempt(rec, at, {code = 'CANCELLED', message = reason, retryable = false}, false)
setStatus(rec, 'cancelled', at, {'lastError', reason})
emit('cancelled', rec, at, {reason = reason, previous = previous})
if rec.idempotencyKey ~= '' and IDEM_TTL > 0 then
  rcall('EXPIRE', K_IDEM .. rec.idempotencyKey, IDEM_TTL)
end
-- Its own wait ends with it (its job is removed by the caller, as for any waiting task).
rcall('DEL', depsKey(id))
settleDependents(id, 'cancelled', at)
saveRecords()
groupsFlush()
return {'ok', previous}
