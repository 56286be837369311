-- An administrator's retry of a failed packet: it is submitted again with a new bundle run, and each failed page is
-- queued again under a new run; both start a new retry window. It never assigns anyone.
local packet_key, pages_key, runs_key = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', packet_key, 'status')
if not status then return {'missing'} end
if status ~= 'failed' then return {'status', status} end
redis.call('HSET', packet_key, 'status', 'submitted', 'bundleQueuedAt', args.at)
redis.call('HDEL', packet_key, 'rescanPages', 'failure')
redis.call('HINCRBY', packet_key, 'bundleRun', 1)
local requeued = {}
for _, raw in ipairs(redis.call('HVALS', pages_key)) do
  local page = cjson.decode(raw)
  if page.status == 'failed' then
    local field = tostring(page.n)
    page.run = redis.call('HINCRBY', runs_key, field, 1)
    page.status = 'stored'
    page.failure = nil
    page.queuedAt = args.at
    page.runAt = args.at
    local encoded = cjson.encode(page)
    redis.call('HSET', pages_key, field, encoded)
    requeued[#requeued + 1] = encoded
  end
end
return {'ok', requeued}
