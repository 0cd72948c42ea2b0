--[[
  Fold one queue's closed minutes of metrics into its hour buckets and its cumulative totals,
  exactly once: the checkpoint (the last minute folded) advances in the same call. A minute is
  closed when its end is `grace` ms past and the queue's projection has applied every BullMQ event
  written before its end, so no transition of that minute can still be counted into it. Counters
  and sketch buckets are added; gauges (`@...`) are copied, so an hour keeps its last sample.
  Each folded minute gets its expiry here (the minute retention after its end), and each hour its own.

  KEYS[1] fold checkpoint (last folded minute)   KEYS[2] the queue's BullMQ event stream
  KEYS[3] the queue's projector checkpoint       KEYS[4] the queue's totals hash
  ARGV[1] the queue's metric key prefix ("<prefix>:metrics:<queue>:")
  ARGV[2] minute retention (ms)   ARGV[3] hour retention (ms)   ARGV[4] grace (ms)
  ARGV[5] most minutes per call   ARGV[6] the minute before the first to fold, without a checkpoint
  ARGV[7] now (ms), or '' for Redis's clock (tests fold minutes before their time)
  Returns {last folded minute, more to fold now (0/1)}
]]
local PREFIX, MINUTE_TTL, HOUR_TTL = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local GRACE, PER_CALL = tonumber(ARGV[4]), tonumber(ARGV[5])
local rcall = redis.call

local now = tonumber(ARGV[7])
if now == nil then
  local t = rcall('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local upto = math.floor((now - GRACE) / 60000) - 1
-- The first BullMQ event not yet projected bounds what is closed: its transition still has to be counted.
local applied = rcall('GET', KEYS[3]) or '0-0'
local pending = rcall('XRANGE', KEYS[2], '(' .. applied, '+', 'COUNT', 1)
if pending[1] then
  upto = math.min(upto, math.floor(tonumber(string.match(pending[1][1], '^(%d+)')) / 60000) - 1)
end

local last = tonumber(rcall('GET', KEYS[1]) or ARGV[6])
local stop = math.min(upto, last + PER_CALL)
for m = last + 1, stop do
  local key = PREFIX .. 'm:' .. m
  local raw = rcall('HGETALL', key)
  if #raw > 0 then
    local h = math.floor(m / 60)
    local hour = PREFIX .. 'h:' .. h
    for i = 1, #raw, 2 do
      local field, value = raw[i], raw[i + 1]
      if string.sub(field, 1, 1) == '@' then
        rcall('HSET', hour, field, value)
      else
        rcall('HINCRBY', hour, field, value)
        rcall('HINCRBY', KEYS[4], field, value)
      end
    end
    rcall('PEXPIREAT', hour, (h + 1) * 3600000 + HOUR_TTL)
    rcall('PEXPIREAT', key, (m + 1) * 60000 + MINUTE_TTL)
  end
end
if stop > last then rcall('SET', KEYS[1], stop) end
return {stop, stop < upto and 1 or 0}
