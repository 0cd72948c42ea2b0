-- One evaluation of the alert rules, applied at once: instance states, the alerts firing, the
-- events appended to the alerts log and the evaluator's view of the workers. Refused (nothing
-- written) unless the caller still holds the evaluator lease and read the state at the version it
-- names, so two processes that both believe they lead can never append one alert twice.
--
-- KEYS[1] evaluator lease   KEYS[2] version counter   KEYS[3] instance states (hash)
-- KEYS[4] alerts firing (hash)   KEYS[5] alerts log (stream)   KEYS[6] known workers (hash)
-- KEYS[7] presence stream cursor
-- ARGV[1] lease owner   ARGV[2] version read   ARGV[3] log max length   ARGV[4] changes (JSON:
--   stateSet, stateDel, firingSet, firingDel, events, workersSet, workersDel, workersCursor)
-- Returns {-1} when the lease is not held, {-2} when the state changed since it was read, else
-- {0, new version, event id...}.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return {-2} end
local c = cjson.decode(ARGV[4])
for _, pair in ipairs(c.stateSet) do redis.call('HSET', KEYS[3], pair[1], pair[2]) end
for _, field in ipairs(c.stateDel) do redis.call('HDEL', KEYS[3], field) end
for _, pair in ipairs(c.firingSet) do redis.call('HSET', KEYS[4], pair[1], pair[2]) end
for _, field in ipairs(c.firingDel) do redis.call('HDEL', KEYS[4], field) end
for _, pair in ipairs(c.workersSet) do redis.call('HSET', KEYS[6], pair[1], pair[2]) end
for _, field in ipairs(c.workersDel) do redis.call('HDEL', KEYS[6], field) end
if c.workersCursor ~= cjson.null and c.workersCursor ~= nil then redis.call('SET', KEYS[7], c.workersCursor) end
local out = {0, redis.call('INCR', KEYS[2])}
for _, event in ipairs(c.events) do
  out[#out + 1] = redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[3], '*', 'e', event)
end
return out
