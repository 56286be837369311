-- An administrator sets a registrar away or removes him, with its status entry in the protocol. A busy registrar
-- set away goes away after his packet ('away_after_packet'), as when he asks himself; removing a busy one is refused
-- here: his packet must go back through release, in the same step as his status (the caller reads again and
-- retries). When the registrar turned busy or free since the entry was sealed, it is sealed again ('status_changed').
local registrar_key, protocol_key, head_key = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', registrar_key, 'status')
if not status or status == 'removed' then return 'missing' end
if status == 'busy' and args.status == 'removed' then return 'holds_packet' end
if not head_is(head_key, args.expectedHead, args.genesis) then return 'head_moved' end
if (status == 'busy') ~= args.afterPacket then return 'status_changed' end
if status == 'busy' then
  if redis.call('HGET', registrar_key, 'awayAfter') ~= '1' then
    redis.call('HSET', registrar_key, 'awayAfter', '1')
    append_entry(protocol_key, head_key, args.entry)
  end
  return 'away_after_packet'
end
if status ~= args.status then
  redis.call('HSET', registrar_key, 'status', args.status)
  append_entry(protocol_key, head_key, args.entry)
end
redis.call('HDEL', registrar_key, 'awayAfter')
return 'ok'
