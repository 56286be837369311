-- A page may change while the packet is open. After a failure only the pages named in rescanPages may change, and
-- the first such upload reopens the packet (failed -> open). The same bytes again leave the record alone.
local packet_key, pages_key = KEYS[1], KEYS[2]
local status = redis.call('HGET', packet_key, 'status')
if not status then return {'missing'} end
local field = tostring(args.n)
local previous = redis.call('HGET', pages_key, field)
if previous and cjson.decode(previous).sha256 == args.sha256 then return {'same', previous} end
local rescan = redis.call('HGET', packet_key, 'rescanPages')
if status == 'failed' and csv_contains(rescan, field) then
  redis.call('HSET', packet_key, 'status', 'open')
elseif status ~= 'open' then
  return {'status', status}
elseif rescan and not csv_contains(rescan, field) then
  return {'rescan_only', rescan}
end
redis.call('HSET', pages_key, field, args.page)
return {previous and 'replaced' or 'created', previous or ''}
