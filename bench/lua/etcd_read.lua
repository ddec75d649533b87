-- etcd: linearizable reads of one key (a range without "serializable"), POST /v3/kv/range.
-- wrk ... -s etcd_read.lua http://leader -- <key>
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

function init(args)
  wrk.method = "POST"
  wrk.path = "/v3/kv/range"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"key":"' .. base64(args[1]) .. '"}'
end
