--[[
  Mark a task cancelled, with its event, in one call. BullMQ has no "cancelled" state: the caller
  then removes the job (waiting) or aborts it on its worker (running), and the projector keeps the
  record cancelled whatever BullMQ says next.

  KEYS[1] Taskplane event stream
  ARGV[1] task key prefix  ARGV[2] index key prefix  ARGV[3] stream cap
  ARGV[4] task id          ARGV[5] now (ms)          ARGV[6] reason
  ARGV[7] idempotency key prefix  ARGV[8] idempotency window (seconds)
  Returns {"ok", previous status} | {"missing"} | {"refused", status}
]]
local K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[1]

--@include common

local id, at, reason = ARGV[4], tonumber(ARGV[5]), ARGV[6]
local rec = loadRecord(id)
if rec == nil then return {'missing'} end
local previous = rec.status
if not canMove(previous, 'cancelled') then return {'refused', previous} end
closeAttempt(rec, at, {code = 'CANCELLED', message = reason, retryable = false}, false)
setStatus(rec, 'cancelled', at, {'lastError', reason})
emit('cancelled', rec, at, {reason = reason, previous = previous})
if rec.idempotencyKey ~= '' and tonumber(ARGV[8]) > 0 then
  rcall('EXPIRE', ARGV[7] .. rec.idempotencyKey, ARGV[8])
end
saveRecords()
return {'ok', previous}
