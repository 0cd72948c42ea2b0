--[[
  Claim idempotency keys for new task ids, or learn the task that already holds each key.
  KEYS: the idempotency keys.  ARGV: the candidate task ids, one per key.
  Returns, per key, the id that holds it (the candidate when the claim succeeded).
]]
local out = {}
for i = 1, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held then
    out[i] = held
  else
    redis.call('SET', KEYS[i], ARGV[i])
    out[i] = ARGV[i]
  end
end
return out
