-- Coffer: reads of one KV v2 secret, GET /v1/secret/data/<key> with a root token.
-- wrk ... -s coffer_read.lua http://leader -- <token> <key>
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

function init(args)
  wrk.method = "GET"
  wrk.headers["X-Vault-Token"] = args[1]
  wrk.path = "/v1/secret/data/" .. args[2]
end
