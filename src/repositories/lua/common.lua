-- Prepended to every script: the named arguments, and the helpers scripts share.
local args = cjson.decode(ARGV[1])

-- Whether `item` is in a comma-separated list (how a packet stores its rescanPages).
local function csv_contains(list, item)
  return list ~= nil and list ~= false and string.find(',' .. list .. ',', ',' .. item .. ',', 1, true) ~= nil
end

local function includes(list, item)
  for _, value in ipairs(list) do
    if value == item then return true end
  end
  return false
end

-- The protocol head is where the caller sealed its entry; if it moved, the entry's prevHash is wrong.
local function head_is(head_key, expected, genesis)
  return (redis.call('HGET', head_key, 'hash') or genesis) == expected
end

-- Why the holder's packet cannot change now (the head moved, it is not his, its status), or nil when it can.
local function holder_refusal(packet_key, head_key)
  if not head_is(head_key, args.expectedHead, args.genesis) then return 'head_moved' end
  if redis.call('HGET', packet_key, 'registrarId') ~= args.registrarId then return 'not_yours' end
  local status = redis.call('HGET', packet_key, 'status')
  if not includes(args.sources, status) then return status end
  return nil
end

local function append_entry(protocol_key, head_key, entry)
  redis.call('RPUSH', protocol_key, entry.json)
  redis.call('HSET', head_key, 'hash', entry.hash, 'seq', entry.seq)
end

-- Wakes the dispatchers (they block on this list); a bounded list, since one wake-up serves many events.
local function wake(wake_key, reason)
  redis.call('LPUSH', wake_key, reason)
  redis.call('LTRIM', wake_key, 0, 99)
end

-- Gives a page a new number: a new run of that number (domain/jobs.ts), queued again (into `queued`) when it was
-- still waiting or in processing, so a job of its old number and run finds itself stale. A failed page's reason
-- names the page to rescan (page-processing.ts): that is its new number now.
local function renumber_page(page, n, runs_key, at, queued)
  page.n = n
  page.run = redis.call('HINCRBY', runs_key, tostring(n), 1)
  if page.status == 'stored' or page.status == 'processing' then
    page.status = 'stored'
    page.runAt = at
    page.queuedAt = at
    table.insert(queued, cjson.encode(page))
  end
  if page.failure then page.failure = string.gsub(page.failure, 'rescan page %d+', 'rescan page ' .. n) end
end
