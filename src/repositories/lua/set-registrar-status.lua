-- A registrar's own wish: free or away. While he holds a packet, away takes effect when the packet is done.
-- A change is appended to the registrar events, which the collusion analytics read.
local registrar_key, wake_key, events_key = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', registrar_key, 'status')
if not status then return 'missing' end
if status == 'removed' then return 'removed' end
if status == 'busy' then
  if args.status == 'away' then
    redis.call('HSET', registrar_key, 'awayAfter', '1')
  else
    redis.call('HDEL', registrar_key, 'awayAfter')
  end
  return 'busy'
end
if status ~= args.status then redis.call('RPUSH', events_key, args.event) end
redis.call('HSET', registrar_key, 'status', args.status)
if args.status == 'free' then wake(wake_key, 'registrar_free') end
return args.status
