-- Compare-and-set of a packet's status: to args.to if it is one of args.sources, setting args.fields.
local packet_key = KEYS[1]
local status = redis.call('HGET', packet_key, 'status')
if not status then return {'missing'} end
if not includes(args.sources, status) then return {'status', status} end
redis.call('HSET', packet_key, 'status', args.to)
for field, value in pairs(args.fields) do redis.call('HSET', packet_key, field, value) end
return {'ok'}
