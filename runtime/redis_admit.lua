-- Admit one request against token buckets and quota counters, atomically.
--
-- KEYS: nb bucket keys, then nq quota keys.
-- ARGV: nb, nq, then (rate, burst) per bucket, then (limit, period, offset) per quota.
-- Returns one space-separated string: allowed, retry_after, then per level (limit,
-- remaining, reset_after, rejected). One bulk string parses far faster in the client
-- than a nested reply, and keeps fractional numbers (Redis truncates Lua numbers).
--
-- Two-phase: every level is read first and written only when all of them admit,
-- so a refused request consumes nothing. The clock is the Redis server's, so every
-- gateway process agrees on time. Quota windows mirror stores/base.py quota_window.

local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local nb = tonumber(ARGV[1])
local nq = tonumber(ARGV[2])
local DAY = 86400

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m
  if mp < 10 then m = mp + 3 else m = mp - 9 end
  if m <= 2 then y = y + 1 end
  return y, m
end

local function window(period, offset)
  local day = math.floor((math.floor(now) - offset) / DAY)
  local s, e
  if period == 'day' then
    s = day
    e = day + 1
  elseif period == 'week' then
    s = day - (day + 3) % 7  -- weeks start on Monday; day 0 was a Thursday
    e = s + 7
  else
    local y, m = civil_from_days(day)
    s = days_from_civil(y, m, 1)
    if m == 12 then e = days_from_civil(y + 1, 1, 1) else e = days_from_civil(y, m + 1, 1) end
  end
  return s * DAY + offset, e * DAY + offset
end

local allowed = true
local retry = 0

local rates, bursts, tokens = {}, {}, {}
for i = 1, nb do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', KEYS[i], 't', 'u')
  local tk = burst  -- a new bucket starts full
  if state[1] then
    local elapsed = math.max(now - tonumber(state[2]), 0)
    tk = math.min(burst, tonumber(state[1]) + elapsed * rate)
  end
  rates[i], bursts[i], tokens[i] = rate, burst, tk
  if tk < 1 then
    allowed = false
    retry = math.max(retry, (1 - tk) / rate)
  end
end

local limits, starts, ends, used = {}, {}, {}, {}
for j = 1, nq do
  local base = 2 + 2 * nb + 3 * (j - 1)
  local limit = tonumber(ARGV[base + 1])
  local s, e = window(ARGV[base + 2], tonumber(ARGV[base + 3]))
  local state = redis.call('HMGET', KEYS[nb + j], 's', 'n')
  local n = 0
  if state[1] and tonumber(state[1]) == s then n = tonumber(state[2]) end
  limits[j], starts[j], ends[j], used[j] = limit, s, e, n
  if n >= limit then
    allowed = false
    retry = math.max(retry, e - now)
  end
end

local out = {0, string.format('%.6f', retry)}
if allowed then out[1] = 1 end
local function push(value) out[#out + 1] = value end

for i = 1, nb do
  local left = tokens[i]
  if allowed then
    left = left - 1
    redis.call('HSET', KEYS[i], 't', string.format('%.6f', left), 'u', string.format('%.6f', now))
    -- once full again the state equals "absent", so let Redis forget it
    redis.call('PEXPIRE', KEYS[i], math.ceil((bursts[i] - left) / rates[i] * 1000) + 1000)
  end
  local rejected = 0
  if tokens[i] < 1 then rejected = 1 end
  push(string.format('%d', bursts[i]))
  push(string.format('%d', math.floor(left)))
  push(string.format('%.6f', (bursts[i] - left) / rates[i]))
  push(rejected)
end

for j = 1, nq do
  local n = used[j]
  if allowed then
    n = n + 1
    redis.call('HSET', KEYS[nb + j], 's', starts[j], 'n', n)
    redis.call('EXPIREAT', KEYS[nb + j], ends[j] + 60)
  end
  local rejected = 0
  if used[j] >= limits[j] then rejected = 1 end
  push(string.format('%d', limits[j]))
  push(string.format('%d', math.max(limits[j] - n, 0)))
  push(string.format('%.6f', ends[j] - now))
  push(rejected)
end

return table.concat(out, ' ')
