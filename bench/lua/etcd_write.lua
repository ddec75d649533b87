-- etcd: unique-key puts on the JSON gateway, POST /v3/kv/put.
-- wrk ... -s etcd_write.lua http://leader -- <run-prefix> [value bytes, 100]
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local n = 0
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  prefix = args[1] .. "-" .. tid .. "-"
  value = base64(value_of(args[2]))
end

function request()
  n = n + 1
  local body = '{"key":"' .. base64(prefix .. n) .. '","value":"' .. value .. '"}'
  return wrk.format(nil, "/v3/kv/put", nil, body)
end
