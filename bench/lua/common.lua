-- Shared by every bench script: a per-thread id (so keys stay unique across wrk's threads) and
-- a done() hook that prints one JSON line the driver parses. Loaded with dofile() by the others.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Standard base64 (RFC 4648), for etcd's JSON gateway, which takes keys and values as base64.
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = math.min(#s - i + 1, 3) + 1 -- 1, 2 or 3 input bytes give 2, 3 or 4 chars
    for j = 1, 4 do
      if j <= chars then
        local k = math.floor(n / 2 ^ (6 * (4 - j))) % 64
        out[#out + 1] = alphabet:sub(k + 1, k + 1)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

-- The value every write stores: 100 bytes unless a script is given a size, the same for Coffer
-- and etcd.
VALUE = string.rep("v", 100)
function value_of(size)
  return string.rep("v", tonumber(size or 100))
end

-- Counts answers that are not 2xx separately from wrk's own (socket) errors.
bad_status = 0
function response(status, headers, body)
  if status < 200 or status > 299 then
    bad_status = bad_status + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("bad_status") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"max_us": %d, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, bad, e.connect + e.read + e.write + e.timeout))
end
