-- Dependencies between tasks (included after common and bull). A task that depends on others is
-- added to BullMQ parked (see bull.lua) and recorded `blocked`; its unfinished dependencies are a
-- set (`<task>:deps`) and each dependency knows its waiting dependents (`<task>:dependents`). The
-- script call that records a dependency's end settles its dependents in the same call: "the last
-- dependency succeeded" and "the dependent's job is runnable" are one atomic write, so no process
-- has to survive between them.
--
-- Expected locals set by the including script: K_IDEM, IDEM_TTL (idempotency key prefix and
-- window in seconds, for tasks this cancels).

local function depsKey(id) return K_TASK .. id .. ':deps' end
local function dependentsKey(id) return K_TASK .. id .. ':dependents' end

-- A blocked task whose dependencies are settled: its parked job becomes runnable.
local function releaseBlocked(rec, at)
  rcall('DEL', depsKey(rec.id))
  bullPromoteParked(rec.queue, rec.id)
  if setStatus(rec, 'pending', at) then emit('ready', rec, at, {}) end
end

-- A blocked task cancelled by its policy: its parked job is removed with it.
local function cancelBlocked(rec, at, reason)
  rcall('DEL', depsKey(rec.id))
  bullRemoveParked(rec.queue, rec.id)
  if setStatus(rec, 'cancelled', at, {'lastError', reason}) then
    emit('cancelled', rec, at, {reason = reason, previous = 'blocked'})
    if rec.idempotencyKey ~= '' and IDEM_TTL > 0 then rcall('EXPIRE', K_IDEM .. rec.idempotencyKey, IDEM_TTL) end
  end
end

-- Task `id` ended with `outcome` ('success', or the final status it failed with): settle the tasks
-- waiting on it, and theirs in turn when a policy cancels them. A work list, not recursion: a
-- chain of 10,000 nodes must not overflow Lua's stack.
local function settleDependents(id, outcome, at)
  local work = {{id, outcome}}
  local i = 1
  while i <= #work do
    local depId, result = work[i][1], work[i][2]
    i = i + 1
    local key = dependentsKey(depId)
    local dependents = rcall('SMEMBERS', key)
    -- Most tasks have no dependents: one read, nothing to delete.
    if #dependents > 0 then rcall('DEL', key) end
    for _, did in ipairs(dependents) do
      local d = loadRecord(did)
      if d and d.status == 'blocked' and rcall('SREM', depsKey(did), depId) == 1 then
        if result ~= 'success' and d.onDepFail ~= 'run_anyway' then
          cancelBlocked(d, at, 'dependency ' .. depId .. ' ' .. result)
          work[#work + 1] = {did, 'cancelled'}
        elseif rcall('SCARD', depsKey(did)) == 0 then
          releaseBlocked(d, at)
        end
      end
    end
  end
end

-- A new blocked task (just recorded) waits for `deps`: each is met (succeeded; or gone, which
-- only a finished task can be), failed (finished otherwise), or unfinished and remembered. A
-- dependency with no record yet is a node of the same workflow whose queue is projected later:
-- it is remembered too. With nothing left to wait for, the task is released, or cancelled when a
-- dependency failed and its policy says so.
local function registerDependencies(rec, deps, at)
  local failed = nil
  for _, dep in ipairs(deps) do
    local d = loadRecord(dep)
    if (d == nil and rec.workflowId ~= '') or (d ~= nil and not FINAL[d.status]) then
      rcall('SADD', depsKey(rec.id), dep)
      rcall('SADD', dependentsKey(dep), rec.id)
    elseif d ~= nil and d.status ~= 'success' then
      failed = failed or (dep .. ' ' .. d.status)
    end
  end
  if failed and rec.onDepFail ~= 'run_anyway' then
    cancelBlocked(rec, at, 'dependency ' .. failed)
    settleDependents(rec.id, 'cancelled', at)
  elseif rcall('SCARD', depsKey(rec.id)) == 0 then
    releaseBlocked(rec, at)
  end
end
