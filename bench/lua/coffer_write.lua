-- Coffer: unique-key KV v2 writes, POST /v1/secret/data/<key> with a root token.
-- wrk ... -s coffer_write.lua http://leader -- <token> <run-prefix> [value bytes, 100]
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local n = 0
function init(args)
  wrk.method = "POST"
  wrk.headers["X-Vault-Token"] = args[1]
  wrk.headers["Content-Type"] = "application/json"
  prefix = args[2] .. "-" .. tid .. "-"
  body = '{"data":{"v":"' .. value_of(args[3]) .. '"}}'
end

function request()
  n = n + 1
  return wrk.format(nil, "/v1/secret/data/" .. prefix .. n, nil, body)
end
