-- Merges fields into one page record if it still holds the same upload and run, and its status allows the change.
local pages_key = KEYS[1]
local field = tostring(args.n)
local raw = redis.call('HGET', pages_key, field)
if not raw then return {'stale'} end
local page = cjson.decode(raw)
if page.sha256 ~= args.sha256 or (page.run or 0) ~= args.run then return {'stale'} end
if not includes(args.sources, page.status) then return {'status', page.status} end
for key, value in pairs(args.fields) do page[key] = value end
redis.call('HSET', pages_key, field, cjson.encode(page))
return {'ok'}
