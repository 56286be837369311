-- Seals an open packet when pages 1..N are all present and nothing lies beyond N; bundling may start from now.
local packet_key, pages_key = KEYS[1], KEYS[2]
local status = redis.call('HGET', packet_key, 'status')
if not status then return {'missing'} end
if not includes(args.sources, status) then
  return {'status', status, redis.call('HGET', packet_key, 'pageCount') or ''}
end
local missing, extra = {}, {}
for n = 1, args.pages do
  if redis.call('HEXISTS', pages_key, tostring(n)) == 0 then missing[#missing + 1] = n end
end
for _, field in ipairs(redis.call('HKEYS', pages_key)) do
  if tonumber(field) > args.pages then extra[#extra + 1] = tonumber(field) end
end
if #missing > 0 or #extra > 0 then return {'incomplete', missing, extra} end
redis.call('HSET', packet_key, 'status', 'submitted', 'submittedAt', args.at, 'bundleQueuedAt', args.at,
  'pageCount', tostring(args.pages))
redis.call('HDEL', packet_key, 'rescanPages', 'failure')
return {'ok'}
