-- An administrator sets a registrar who holds no packet away or removes him. A busy registrar set away goes away
-- after his packet ('away_after_packet'), as when he asks himself; removing a busy one is refused here: his packet
-- must go back through release, in the same step as his status (the caller reads again and retries).
local registrar_key, events_key = KEYS[1], KEYS[2]
local status = redis.call('HGET', registrar_key, 'status')
if not status or status == 'removed' then return 'missing' end
if status == 'busy' then
  if args.status == 'removed' then return 'holds_packet' end
  redis.call('HSET', registrar_key, 'awayAfter', '1')
  return 'away_after_packet'
end
if status ~= args.status then redis.call('RPUSH', events_key, args.event) end
redis.call('HSET', registrar_key, 'status', args.status)
redis.call('HDEL', registrar_key, 'awayAfter')
return 'ok'
