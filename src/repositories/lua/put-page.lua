-- A page may change while the packet is open. After a failure only the pages named in rescanPages may change, and
-- the first such upload reopens the packet (failed -> open). The same bytes again leave the record alone, unless
-- its processing failed: then they are a rescan like any other (the failure may have been S3's, not the scan's).
-- Every new record takes a new run of page n (a counter that only grows): its job id names that run, so no earlier
-- job of page n, finished or not, can stand in for it (domain/jobs.ts).
local packet_key, pages_key, runs_key = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', packet_key, 'status')
if not status then return {'missing'} end
local field = tostring(args.n)
local previous = redis.call('HGET', pages_key, field)
if previous then
  local recorded = cjson.decode(previous)
  if recorded.sha256 == args.sha256 and recorded.status ~= 'failed' then return {'same', previous} end
end
local rescan = redis.call('HGET', packet_key, 'rescanPages')
if status == 'failed' and csv_contains(rescan, field) then
  redis.call('HSET', packet_key, 'status', 'open')
elseif status ~= 'open' then
  return {'status', status}
elseif rescan and not csv_contains(rescan, field) then
  return {'rescan_only', rescan}
end
local page = cjson.decode(args.page)
page.run = redis.call('HINCRBY', runs_key, field, 1)
local encoded = cjson.encode(page)
redis.call('HSET', pages_key, field, encoded)
return {previous and 'replaced' or 'created', encoded, previous or ''}
