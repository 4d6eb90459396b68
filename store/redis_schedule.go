package store

import "github.com/redis/go-redis/v9"

// The Lua scripts of the host schedule. Every script takes the run's key
// prefix as ARGV[1] and builds its keys from it ("trawl:R:"):
//
//	q:<host>      the host's queue: a sorted set, every score 0, members
//	              depth, arrival counter and request (see encodeMember)
//	hosts         the schedule: a sorted set of the hosts with queued
//	              requests, scored by when each may next start one
//	              (microseconds, Redis's clock)
//	rate:<host>   the host's theoretical arrival time (GCRA) for the
//	              shared rate, pushed later by a pause
//	delay:<host>  the host's Crawl-delay, microseconds
//	taken:<c>     the requests consumer c took and did not acknowledge:
//	              member → "<host> <time taken, ms>"
//	consumers     the consumers that ever took a request
//	pending       how many requests are queued or taken
//	seq           the arrival counter
//	wake          the channel on which new work and the end are published
//
// Time is the server's (TIME), so the clocks of the machines need not
// agree.
const luaPrelude = `
local p = ARGV[1]
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- limits returns host h's interval (us) and burst: the shared rate's, or
-- its Crawl-delay when that is slower (burst 1 then).
local function limits(h, iv, burst)
  local d = tonumber(redis.call('GET', p .. 'delay:' .. h) or '0')
  if d > iv then return d, 1 end
  return iv, burst
end
-- ready_at returns when h may next start a request.
local function ready_at(h, now, iv, burst)
  local at = tonumber(redis.call('GET', p .. 'rate:' .. h) or '0') - (burst - 1) * iv
  if at < now then at = now end
  return at
end
-- schedule puts h in the schedule when it is not there, due when its
-- limits let it start, and wakes the processes waiting for work.
local function schedule(h, now, iv, burst)
  if redis.call('ZSCORE', p .. 'hosts', h) then return end
  local liv, lb = limits(h, iv, burst)
  redis.call('ZADD', p .. 'hosts', ready_at(h, now, liv, lb), h)
  redis.call('PUBLISH', p .. 'wake', h)
end
-- set_tat sets h's theoretical arrival time to at, kept until it is
-- past.
local function set_tat(h, at, now)
  redis.call('SET', p .. 'rate:' .. h, string.format('%d', at), 'PX', math.floor((at - now) / 1000) + 1000)
end
`

// enqueueScript queues a request unless its fingerprint is in the seen set
// (or the run's page budget is spent): the check and the enqueue are one
// atomic step, so two processes that find the same link queue it once.
// ARGV: prefix, fingerprint, host, member without its arrival counter,
// max pages, interval, burst.
var enqueueScript = redis.NewScript(luaPrelude + `
if redis.call('SISMEMBER', p .. 'seen', ARGV[2]) == 1 then return 0 end
local max = tonumber(ARGV[5])
if max > 0 and redis.call('INCR', p .. 'admitted') > max then return 0 end
redis.call('SADD', p .. 'seen', ARGV[2])
local seq = tostring(redis.call('INCR', p .. 'seq'))
local m = string.sub(ARGV[4], 1, 10) .. string.rep('0', 15 - #seq) .. seq .. string.sub(ARGV[4], 11)
redis.call('ZADD', p .. 'q:' .. ARGV[3], 0, m)
redis.call('INCR', p .. 'pending')
schedule(ARGV[3], now_us(), tonumber(ARGV[6]), tonumber(ARGV[7]))
return 1
`)

// claimScript takes the next request of the host that has waited longest
// among those that may start now, skipping the hosts whose slots are all
// busy in the calling process, and takes the host's turn of the shared
// rate with it; it records the request as the consumer's and moves the
// host in the schedule to its next turn. When no host may start now it
// returns how long until the earliest is due, or 'empty'.
// ARGV: prefix, consumer, interval, burst, number of busy hosts, the busy
// hosts.
var claimScript = redis.NewScript(luaPrelude + `
local me, iv, burst, nex = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local busy = {}
for i = 1, nex do busy[ARGV[5 + i]] = true end
local hosts = p .. 'hosts'
local now = now_us()
for round = 1, 100 do
  local h
  for _, c in ipairs(redis.call('ZRANGEBYSCORE', hosts, '-inf', now, 'LIMIT', 0, nex + 1)) do
    if not busy[c] then h = c break end
  end
  if not h then break end
  local liv, lb = limits(h, iv, burst)
  local at = ready_at(h, now, liv, lb)
  local q = p .. 'q:' .. h
  if at > now then
    redis.call('ZADD', hosts, at, h) -- a turn taken outside the schedule (a retry), or a pause
  else
    local got = redis.call('ZPOPMIN', q)
    if #got == 0 then
      redis.call('ZREM', hosts, h)
    else
      if liv > 0 then
        local tat = tonumber(redis.call('GET', p .. 'rate:' .. h) or '0')
        if tat < now then tat = now end
        set_tat(h, tat + liv, now)
        redis.call('PEXPIRE', p .. 'delay:' .. h, 3600000)
      end
      redis.call('HSET', p .. 'taken:' .. me, got[1], h .. ' ' .. math.floor(now / 1000))
      redis.call('SADD', p .. 'consumers', me)
      if redis.call('EXISTS', q) == 1 then
        redis.call('ZADD', hosts, ready_at(h, now, liv, lb), h)
      else
        redis.call('ZREM', hosts, h)
      end
      return {'taken', got[1], h}
    end
  end
end
local first = redis.call('ZRANGE', hosts, 0, nex, 'WITHSCORES')
for i = 1, #first, 2 do
  if not busy[first[i]] then return {'wait', tonumber(first[i + 1]) - now} end
end
return {'empty'}
`)

// turnScript takes a host's turn of the shared rate for a request taken
// before and deferred (a retry, a redirect hop; see RedisFrontier.Defer),
// which is in no queue, if the host may start now (past its pause, its
// rate and Crawl-delay due): it returns 0. Otherwise it takes nothing and
// returns how many microseconds until the host may start. The host's
// place in the schedule is left as it is: the claim script moves a host
// found not ready. ARGV: prefix, host, interval, burst.
var turnScript = redis.NewScript(luaPrelude + `
local h, now = ARGV[2], now_us()
local liv, lb = limits(h, tonumber(ARGV[3]), tonumber(ARGV[4]))
local at = ready_at(h, now, liv, lb)
if at > now then return at - now end
if liv > 0 then
  local tat = tonumber(redis.call('GET', p .. 'rate:' .. h) or '0')
  if tat < now then tat = now end
  set_tat(h, tat + liv, now)
  redis.call('PEXPIRE', p .. 'delay:' .. h, 3600000)
end
return 0
`)

// putBackScript returns a request the consumer took to the head of its
// host's queue. ARGV: prefix, consumer, member, host, interval, burst.
var putBackScript = redis.NewScript(luaPrelude + `
if redis.call('HDEL', p .. 'taken:' .. ARGV[2], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', p .. 'q:' .. ARGV[4], 0, ARGV[3])
schedule(ARGV[4], now_us(), tonumber(ARGV[5]), tonumber(ARGV[6]))
return 1
`)

// idleScript runs when there is nothing to take: it queues again, at the
// head of their hosts' queues, the requests taken ClaimAfter ago or more
// by a consumer whose alive key is gone, or by this very consumer when
// the process does not hold them (ARGV[6:]: one delivered by a call whose
// reply was lost when the connection broke). A slow request of a live
// process is never taken, however long it takes. Otherwise it says
// whether the run is still busy (requests queued or taken, or a live
// process still seeding) or finished. ARGV: prefix, consumer, ClaimAfter
// in ms, interval, burst, the members the process holds.
var idleScript = redis.NewScript(luaPrelude + `
local me, after, iv, burst = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local held = {}
for i = 6, #ARGV do held[ARGV[i]] = true end
local now = now_us()
local nowms = math.floor(now / 1000)
local moved = 0
for _, c in ipairs(redis.call('SMEMBERS', p .. 'consumers')) do
  local mine = c == me
  local tk = p .. 'taken:' .. c
  if mine or redis.call('EXISTS', p .. 'alive:' .. c) == 0 then
    local all = redis.call('HGETALL', tk)
    for i = 1, #all, 2 do
      local m = all[i]
      local h, at = string.match(all[i + 1], '^(.*) (%d+)$')
      if not (mine and held[m]) and nowms - tonumber(at) >= after then
        redis.call('HDEL', tk, m)
        redis.call('ZADD', p .. 'q:' .. h, 0, m)
        schedule(h, now, iv, burst)
        moved = moved + 1
      end
    end
    if not mine and redis.call('EXISTS', tk) == 0 then redis.call('SREM', p .. 'consumers', c) end
  end
  if moved >= 1000 then break end
end
if moved > 0 then return {'reclaimed', moved} end
if tonumber(redis.call('GET', p .. 'pending') or '0') > 0 then return {'busy'} end
for _, s in ipairs(redis.call('SMEMBERS', p .. 'seeders')) do
  if redis.call('EXISTS', p .. 'alive:' .. s) == 1 then return {'seeding'} end
  redis.call('SREM', p .. 'seeders', s)
end
return {'finished'}
`)

// commitScript acknowledges requests the consumer took (they leave its
// taken hash and the pending count), adds to the run's statistics, and
// wakes the processes waiting for work when nothing is pending any more:
// the run may be over. ARGV: prefix, consumer, n, n members, then
// statistic and increment pairs.
var commitScript = redis.NewScript(luaPrelude + `
local n = tonumber(ARGV[3])
local done = 0
for i = 1, n do done = done + redis.call('HDEL', p .. 'taken:' .. ARGV[2], ARGV[3 + i]) end
if done > 0 and redis.call('DECRBY', p .. 'pending', done) <= 0 then
  redis.call('PUBLISH', p .. 'wake', '')
end
for i = 4 + n, #ARGV, 2 do redis.call('HINCRBY', p .. 'stats', ARGV[i], ARGV[i + 1]) end
return done
`)

// pauseScript holds back a host until ARGV[3] microseconds from now (a
// Retry-After): its next turn of the shared rate, and its place in the
// schedule, move to then. ARGV: prefix, host, microseconds, interval,
// burst.
var pauseScript = redis.NewScript(luaPrelude + `
local h, now = ARGV[2], now_us()
local liv, lb = limits(h, tonumber(ARGV[4]), tonumber(ARGV[5]))
local untl = now + tonumber(ARGV[3])
local tat = untl + (lb - 1) * liv
if tat > tonumber(redis.call('GET', p .. 'rate:' .. h) or '0') then set_tat(h, tat, now) end
local s = redis.call('ZSCORE', p .. 'hosts', h)
if s and tonumber(s) < untl then redis.call('ZADD', p .. 'hosts', untl, h) end
return 1
`)

// crawlDelayScript records a host's Crawl-delay of ARGV[3] microseconds
// (0: none) when it changed; its next request then waits that long from
// now (the request that learned it is just starting). ARGV: prefix,
// host, microseconds.
var crawlDelayScript = redis.NewScript(luaPrelude + `
local h, d = ARGV[2], tonumber(ARGV[3])
local dk = p .. 'delay:' .. h
if tonumber(redis.call('GET', dk) or '0') == d then return 0 end
if d <= 0 then redis.call('DEL', dk) return 1 end
redis.call('SET', dk, d, 'PX', 3600000)
local now = now_us()
if now + d > tonumber(redis.call('GET', p .. 'rate:' .. h) or '0') then set_tat(h, now + d, now) end
local s = redis.call('ZSCORE', p .. 'hosts', h)
if s and tonumber(s) < now + d then redis.call('ZADD', p .. 'hosts', now + d, h) end
return 1
`)
