-- Puts a ready, unassigned packet that fell out of the ready queue back in its place, and wakes the dispatchers.
local packet_key, ready_key, wake_key = KEYS[1], KEYS[2], KEYS[3]
if redis.call('HGET', packet_key, 'status') ~= 'ready' or redis.call('HEXISTS', packet_key, 'registrarId') == 1 then
  return 'changed'
end
if redis.call('ZSCORE', ready_key, args.packetId) then return 'queued' end
redis.call('ZADD', ready_key, redis.call('HGET', packet_key, 'readyScore') or args.score, args.packetId)
wake(wake_key, 'ready')
return 'ok'
