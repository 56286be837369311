-- Removes a page while the packet is open (after a failure: only a page to rescan).
local packet_key, pages_key = KEYS[1], KEYS[2]
local status = redis.call('HGET', packet_key, 'status')
if not status then return {'missing'} end
if status ~= 'open' then return {'status', status} end
local rescan = redis.call('HGET', packet_key, 'rescanPages')
if rescan and not csv_contains(rescan, tostring(args.n)) then return {'rescan_only', rescan} end
return {'ok', redis.call('HDEL', pages_key, tostring(args.n))}
