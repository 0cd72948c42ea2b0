--[[
  A queue's group limits changed (or were handed over at a worker's start): every group with
  parked tasks rejoins the ring, then one dispatch, as after any grouped change. A group at its
  old concurrency limit, or out of rate tokens, left the ring until one of its own tasks moved:
  without this, raising a limit started nothing until a running task of that group ended. Paged
  through the queue's groups (HSCAN), so a call stays short however many groups there are.

  KEYS[1] Taskplane event stream
  ARGV[1] task key prefix  ARGV[2] index key prefix  ARGV[3] stream cap
  ARGV[4] BullMQ key prefix ("<prefix>:q:")  ARGV[5] queue  ARGV[6] HSCAN cursor ('0' first)
  Returns the next cursor ('0' once every group was seen).
]]
local K_TASK, K_IDX, MAXLEN, K_EVENTS, BULL

--@include common
--@include bull
--@include groups

--@call
K_TASK, K_IDX, MAXLEN, K_EVENTS = ARGV[1], ARGV[2], ARGV[3], KEYS[1]
BULL = ARGV[4]
begin()
local QUEUE = ARGV[5]
local q = queueGroups(QUEUE)
local page = rcall('HSCAN', groupsKey(QUEUE, ''), ARGV[6], 'COUNT', 200)
local names = page[2]
-- A queue without groups: nothing to dispatch, and nothing to write.
if #names == 0 and page[1] == '0' then return '0' end
for i = 1, #names, 2 do ringJoin(QUEUE, groupOf(QUEUE, names[i])) end
q.dirty = true
groupsFlush()
return page[1]
