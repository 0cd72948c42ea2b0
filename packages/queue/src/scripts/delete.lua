--[[
  Delete finished tasks, each with everything that points at it, and announce each deletion, in
  one call: the record, its log, its index entries, the idempotency key that names it, and BullMQ's
  finished copy of its job. The one path by which records leave (clean, purge, retention).

  A task is left alone (refused) when it is not finished, when its status is not one of those
  asked for, when it finished after the cutoff, or when its BullMQ job is alive again (a requeue
  that BullMQ has made and the projection not yet recorded): a purge racing a requeue never
  deletes a task that is about to run.

  KEYS[1] Taskplane event stream
  ARGV[1] task key prefix  ARGV[2] index key prefix  ARGV[3] stream cap
  ARGV[4] BullMQ key prefix ("<prefix>:q:")  ARGV[5] idempotency key prefix
  ARGV[6] now (ms)  ARGV[7] statuses allowed, comma-separated ('' = any finished status)
  ARGV[8] finished before (ms, '' = no cutoff)  ARGV[9..] task ids
  Returns, per id: 1 deleted, 0 no record (stale index entries dropped), -1 refused.
]]
local K_TASK, K_IDX, MAXLEN, K_EVENTS, BULL

--@include common
--@include bull

--@call
K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[1]
BULL = ARGV[4]
begin()
local K_IDEM, at = ARGV[5], tonumber(ARGV[6])
local allowed = nil
if ARGV[7] ~= '' then
  allowed = {}
  for s in string.gmatch(ARGV[7], '[^,]+') do allowed[s] = true end
end
local cutoff = tonumber(ARGV[8])

local out = {}
for i = 9, #ARGV do
  local id = ARGV[i]
  local rec = loadRecord(id)
  if rec == nil then
    -- An index entry without a record (an older version's leftovers): drop it where retention looks.
    rcall('ZREM', K_IDX .. 'finished', id)
    rcall('ZREM', K_IDX .. 'dead', id)
    for status in pairs(FINAL) do rcall('ZREM', K_IDX .. 'status:' .. status, id) end
    out[#out + 1] = 0
  else
    local finishedAt = tonumber(rcall('ZSCORE', K_IDX .. 'finished', id))
    local ok = FINAL[rec.status] and (allowed == nil or allowed[rec.status])
      and (cutoff == nil or (finishedAt ~= nil and finishedAt < cutoff))
    local bull = ok and bullFinishedState(rec.queue, id) or 'alive'
    if bull == 'alive' then
      out[#out + 1] = -1
    else
      if bull == 'finished' then bullRemoveFinished(rec.queue, id) end
      rcall('DEL', K_TASK .. id, K_TASK .. id .. ':log')
      rcall('ZREM', K_IDX .. 'status:' .. rec.status, id)
      rcall('ZREM', K_IDX .. 'finished', id)
      rcall('ZREM', K_IDX .. 'dead', id)
      for _, key in ipairs(indexKeys(rec)) do rcall('ZREM', key, id) end
      if rec.parentId ~= '' then rcall('ZREM', K_IDX .. 'parent:' .. rec.parentId, id) end
      if rec.idempotencyKey ~= '' and rcall('GET', K_IDEM .. rec.idempotencyKey) == id then
        rcall('DEL', K_IDEM .. rec.idempotencyKey)
      end
      emit('deleted', rec, at, {})
      out[#out + 1] = 1
    end
  end
end
saveRecords()
return out
