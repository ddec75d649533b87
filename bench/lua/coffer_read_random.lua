-- Coffer: reads of random stored secrets g-<t>-<i> (as coffer_load.lua wrote them).
-- wrk ... -s coffer_read_random.lua http://leader -- <token> <per-thread>
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

function init(args)
  wrk.method = "GET"
  wrk.headers["X-Vault-Token"] = args[1]
  per_thread = tonumber(args[2])
  math.randomseed(os.time() + tid)
end

function request()
  local key = "g-" .. math.random(0, 1) .. "-" .. math.random(0, per_thread - 1)
  return wrk.format(nil, "/v1/secret/data/" .. key)
end
