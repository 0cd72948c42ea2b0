--[[
  Delete finished workflows: each one's hash, its node map and its index entries, in one call for
  a page of ids, after checking it is still finished and ended at or before the cutoff (a node run
  again by hand makes its workflow running again). Its nodes are task records, which retention
  trims as tasks.

  ARGV[1] workflow key prefix ("<prefix>:workflow:")
  ARGV[2] workflows index prefix ("<prefix>:workflows:")
  ARGV[3] cutoff: delete only workflows finished at or before this (epoch ms)
  ARGV[4..] workflow ids
  Returns how many were deleted.
]]
local K_WF, K_WFS, CUTOFF = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- The statuses a workflow ends in, from packages/core workflow.ts.
local FINISHED = __FINAL_WORKFLOW__
local deleted = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  local v = redis.call('HMGET', K_WF .. id, 'status', 'finishedAt', 'name')
  local finishedAt = tonumber(v[2])
  if v[1] and FINISHED[v[1]] and finishedAt and finishedAt <= CUTOFF then
    redis.call('DEL', K_WF .. id, K_WF .. id .. ':nodes')
    redis.call('ZREM', K_WFS .. 'all', id)
    redis.call('ZREM', K_WFS .. 'status:' .. v[1], id)
    redis.call('ZREM', K_WFS .. 'name:' .. (v[3] or ''), id)
    deleted = deleted + 1
  end
end
return deleted
