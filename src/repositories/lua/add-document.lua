-- Adds a scanner document's pages to an open packet in one step: after its highest page number, or from args.at
-- on (the pages from there move up by the document's page count, each under a new run; those not yet processed are
-- queued again, as in reorder-pages.lua). Every new page takes a new run of its number (domain/jobs.ts). The
-- document's record (by its SHA-256) lists the numbers its pages got; the same document again answers 'same' with
-- that record, and nothing changes.
local packet_key, pages_key, runs_key, documents_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local status = redis.call('HGET', packet_key, 'status')
if not status then return {'missing'} end
local existing = redis.call('HGET', documents_key, args.sha256)
if existing then return {'same', existing} end
if status ~= 'open' then return {'status', status} end
local rescan = redis.call('HGET', packet_key, 'rescanPages')
if rescan then return {'rescan_only', rescan} end

local current = {}
local count, highest = 0, 0
local flat = redis.call('HGETALL', pages_key)
for i = 1, #flat, 2 do
  local n = tonumber(flat[i])
  current[n] = cjson.decode(flat[i + 1])
  count = count + 1
  if n > highest then highest = n end
end
local added = #args.pages
local first = args.at or (highest + 1)
if first > highest + 1 then return {'bad_position', tostring(highest)} end
local last_after = math.max(highest, first - 1) + added
if count + added > args.maxPages or last_after > args.maxPages then return {'too_many', tostring(count)} end

local queued = {}
local result = {}
for n, page in pairs(current) do
  if n >= first then renumber_page(page, n + added, runs_key, args.at_time, queued) end
  table.insert(result, tostring(page.n))
  table.insert(result, cjson.encode(page))
end
local numbers = {}
for i, page in ipairs(args.pages) do
  page.n = first + i - 1
  page.run = redis.call('HINCRBY', runs_key, tostring(page.n), 1)
  local encoded = cjson.encode(page)
  table.insert(queued, encoded)
  table.insert(result, tostring(page.n))
  table.insert(result, encoded)
  table.insert(numbers, {n = page.n, sha256 = page.sha256, bytes = page.bytes})
end
local record = cjson.decode(args.document)
record.pages = numbers
local encoded_record = cjson.encode(record)
redis.call('DEL', pages_key)
redis.call('HSET', pages_key, unpack(result))
redis.call('HSET', documents_key, args.sha256, encoded_record)
return {'ok', encoded_record, queued}
