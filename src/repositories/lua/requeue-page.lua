-- Queues a page again under a new run, if it still holds the same upload and run and its status allows it: the
-- reconciler, after the page's job was lost; an administrator's retry of a failed page. args.queuedAt, when given,
-- starts a new retry window.
local pages_key, runs_key = KEYS[1], KEYS[2]
local field = tostring(args.n)
local raw = redis.call('HGET', pages_key, field)
if not raw then return {'changed'} end
local page = cjson.decode(raw)
if page.sha256 ~= args.sha256 or (page.run or 0) ~= args.run or not includes(args.sources, page.status) then
  return {'changed'}
end
page.run = redis.call('HINCRBY', runs_key, field, 1)
page.status = 'stored'
page.runAt = args.at
page.failure = nil
if args.queuedAt then page.queuedAt = args.queuedAt end
local encoded = cjson.encode(page)
redis.call('HSET', pages_key, field, encoded)
return {'ok', encoded}
