-- A registrar's own wish: free or away. While he holds a packet, away takes effect when the packet is done.
local registrar_key, wake_key = KEYS[1], KEYS[2]
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
redis.call('HSET', registrar_key, 'status', args.status)
if args.status == 'free' then wake(wake_key, 'registrar_free') end
return args.status
