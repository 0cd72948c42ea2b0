--[[
  Check candidates a repair walk found (keys seen by SCAN) and fix each inconsistency, unless this
  is a dry run, in one call: what is checked is what is fixed, with no other writer in between.

  Kinds of candidates (ARGV triples: kind, subject, member):
    entry   <index key> <task id>  an index entry whose record is gone: the entry is removed
    record  <task id> ''           a pending or running record whose BullMQ job is gone and that no
                                   live worker runs: the task is failed and dead-lettered (its
                                   `failed` and `dead_lettered` events written), as a task whose
                                   attempts ran out is; dependents are settled as for any failure
    lock    <queue> <job id>       a BullMQ job lock without an active job: the lock is deleted
    idem    <idempotency key> ''   a persistent idempotency key naming a task without a record: the
                                   key is deleted (a key with a TTL is a claim in flight, or one
                                   that expires on its own, and is left)

  KEYS[1] Taskplane event stream
  ARGV[1] task key prefix  ARGV[2] index key prefix  ARGV[3] stream cap
  ARGV[4] BullMQ key prefix ("<prefix>:q:")  ARGV[5] idempotency key prefix
  ARGV[6] idempotency window (seconds)  ARGV[7] now (ms)  ARGV[8] '1' = dry run
  ARGV[9] n = how many task ids live workers run  ARGV[10 .. 9+n] those ids
  ARGV[10+n ..] candidate triples
  Returns the findings: a flat list of (kind, subject, member, detail) quadruples.
]]
local K_TASK, K_IDX, MAXLEN, K_EVENTS, BULL, K_IDEM, IDEM_TTL

--@include common
--@include bull
--@include deps
--@include groups

--@call
K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[1]
BULL, K_IDEM, IDEM_TTL = ARGV[4], ARGV[5], tonumber(ARGV[6])
begin()
local at, dryRun = tonumber(ARGV[7]), ARGV[8] == '1'
local live = {}
local n = tonumber(ARGV[9])
for i = 10, 9 + n do live[ARGV[i]] = true end

local out = {}
local function found(kind, subject, member, detail)
  out[#out + 1] = kind
  out[#out + 1] = subject
  out[#out + 1] = member
  out[#out + 1] = detail
end

local LOST = {code = 'LOST', message = 'its BullMQ job is gone and no worker runs it (found by repair)',
  retryable = true}

for i = 10 + n, #ARGV, 3 do
  local kind, subject, member = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if kind == 'entry' then
    if rcall('EXISTS', K_TASK .. member) == 0 and rcall('ZSCORE', subject, member) then
      found(kind, subject, member, 'index entry without a record')
      if not dryRun then rcall('ZREM', subject, member) end
    end
  elseif kind == 'record' then
    local rec = loadRecord(subject)
    if rec and (rec.status == 'pending' or rec.status == 'running') and not live[subject]
      and not bullJobExists(rec.queue, subject) then
      found(kind, subject, rec.status, 'no BullMQ job in queue ' .. rec.queue .. ' and no live worker runs it')
      if not dryRun then
        local attempt = currentAttempt(rec)
        if rec.status == 'running' then closeAttempt(rec, at, LOST, false) end
        if setStatus(rec, 'failed', at, {'lastError', LOST.message}) then
          emit('failed', rec, at, {attempt = attempt, error = LOST})
          setStatus(rec, 'dead_lettered', at)
          emit('dead_lettered', rec, at, {error = LOST})
          if rec.idempotencyKey ~= '' and IDEM_TTL > 0 then
            rcall('EXPIRE', K_IDEM .. rec.idempotencyKey, IDEM_TTL)
          end
          settleDependents(subject, 'failed', at)
        end
      end
    end
  elseif kind == 'lock' then
    if bullOrphanedLock(subject, member, dryRun) then
      found(kind, subject, member, 'lock of a job that is not active')
    end
  elseif kind == 'idem' then
    local key = K_IDEM .. subject
    local id = rcall('GET', key)
    if id and rcall('TTL', key) == -1 and rcall('EXISTS', K_TASK .. id) == 0 then
      found(kind, subject, id, 'idempotency key naming a task without a record')
      if not dryRun then rcall('DEL', key) end
    end
  end
end
saveRecords()
groupsFlush()
return out
