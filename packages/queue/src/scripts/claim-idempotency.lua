--[[
  Claim idempotency keys for new task ids, or learn the task that already holds each key.
  KEYS: the idempotency keys.  ARGV: the candidate task ids, one per key, then the claim's TTL
  (seconds). A claim expires unless the task's record is created (project.lua makes it persistent
  until the task finishes, then it lasts the idempotency window); a submitter that dies after
  claiming blocks nobody: a later submit with the key adds the job under the claimed id itself.
  Returns, per key, the id that holds it (the candidate when the claim succeeded).
]]
local ttl = ARGV[#ARGV]
local out = {}
for i = 1, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held then
    out[i] = held
  else
    redis.call('SET', KEYS[i], ARGV[i], 'EX', ttl)
    out[i] = ARGV[i]
  end
end
return out
