-- Renumbers an open packet's pages 1..k in the order given, in one step. args.order lists the pages as the station
-- saw them ({n, sha256}, new order); if the packet's pages are not exactly those, nothing changes ('changed', with
-- the pages it has). A page that lands on a new number takes a new run there (domain/jobs.ts); one still waiting
-- for or in processing is queued again under it, so a job of its old number and run can only find itself stale.
-- Done and failed pages keep their results. Asking again for an order already in place answers 'same'.
local packet_key, pages_key, runs_key = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', packet_key, 'status')
if not status then return {'missing'} end
if status ~= 'open' then return {'status', status} end
local rescan = redis.call('HGET', packet_key, 'rescanPages')
if rescan then return {'rescan_only', rescan} end

local current = {}
local count = 0
local flat = redis.call('HGETALL', pages_key)
for i = 1, #flat, 2 do
  current[tonumber(flat[i])] = cjson.decode(flat[i + 1])
  count = count + 1
end
local function pages_now()
  local list = {}
  for n, page in pairs(current) do table.insert(list, {n = n, sha256 = page.sha256}) end
  table.sort(list, function(a, b) return a.n < b.n end)
  return cjson.encode(list)
end

local in_place = #args.order == count
for i, wanted in ipairs(args.order) do
  if not current[i] or current[i].sha256 ~= wanted.sha256 then in_place = false end
end
if in_place then return {'same'} end

if #args.order ~= count then return {'changed', pages_now()} end
local seen = {}
for _, wanted in ipairs(args.order) do
  local page = current[wanted.n]
  if seen[wanted.n] or not page or page.sha256 ~= wanted.sha256 then return {'changed', pages_now()} end
  seen[wanted.n] = true
end

local queued = {}
local renumbered = {}
for i, wanted in ipairs(args.order) do
  local page = current[wanted.n]
  if wanted.n ~= i then renumber_page(page, i, runs_key, args.at, queued) end
  table.insert(renumbered, tostring(i))
  table.insert(renumbered, cjson.encode(page))
end
redis.call('DEL', pages_key)
redis.call('HSET', pages_key, unpack(renumbered))
return {'ok', queued}
