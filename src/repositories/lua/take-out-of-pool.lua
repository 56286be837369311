-- An administrator sets a registrar who holds no packet away or removes him. A busy registrar is refused here:
-- his packet must go back through release, in the same step as his status (the caller reads again and retries).
local registrar_key = KEYS[1]
local status = redis.call('HGET', registrar_key, 'status')
if not status or status == 'removed' then return 'missing' end
if status == 'busy' then return 'holds_packet' end
redis.call('HSET', registrar_key, 'status', args.status)
redis.call('HDEL', registrar_key, 'awayAfter')
return 'ok'
