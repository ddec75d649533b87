-- Coffer: fill a KV v2 mount with secrets g-<thread>-<i>, <from> <= i < <to>, one write each.
-- wrk ... -d3600s -s coffer_load.lua http://leader -- <token> <from> <to> <marker-prefix>
-- Once a thread has an answer for each of its keys it stops and creates <marker-prefix><tid>;
-- bench/growth.py ends the run (SIGINT) when every thread's marker is there. A thread with no
-- key left to write sends `sys/health` instead, so no key beyond the range is made.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

function init(args)
  wrk.headers["X-Vault-Token"] = args[1]
  wrk.headers["Content-Type"] = "application/json"
  next_key, last_key = tonumber(args[2]), tonumber(args[3])
  remaining = last_key - next_key
  if tid == 0 then
    -- wrk calls thread 0's request() once right after init, to check the script, and never
    -- sends that request: it would take the first key.
    next_key = next_key - 1
  end
  marker = args[4] .. tid
  body = '{"data":{"v":"' .. VALUE .. '"}}'
end

function request()
  if next_key >= last_key then
    return wrk.format("GET", "/v1/sys/health")
  end
  local key = next_key
  next_key = next_key + 1
  return wrk.format("POST", "/v1/secret/data/g-" .. tid .. "-" .. key, nil, body)
end

local count_status = response
function response(status, headers, body)
  count_status(status, headers, body)
  if status == 200 and body:find('"created_time"', 1, true) then -- a write's answer, not sys/health's
    remaining = remaining - 1
    if remaining == 0 then
      io.open(marker, "w"):close()
      wrk.thread:stop()
    end
  end
end
