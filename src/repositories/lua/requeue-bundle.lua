-- Starts a new bundle run of a packet still waiting for its PDF, if nobody did meanwhile (the reconciler, after the
-- packet's bundle job was lost).
local packet_key = KEYS[1]
local status = redis.call('HGET', packet_key, 'status')
if not includes(args.sources, status) then return 'changed' end
if tonumber(redis.call('HGET', packet_key, 'bundleRun') or '0') ~= args.run then return 'changed' end
redis.call('HINCRBY', packet_key, 'bundleRun', 1)
redis.call('HSET', packet_key, 'bundleRunAt', args.at)
return 'ok'
