-- PUT one Service per connection with its current resourceVersion (read from each answer), so
-- every update is a conditional one that succeeds.
local rv = nil
local name = nil
local counter = 0
-- tid: unique per wrk thread and per run (math.random is unseeded, so the same in every run).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", os.time() .. "x" .. threads)
end
init = function(args)
  name = "u" .. tid
end
local function body()
  counter = counter + 1
  local meta = '"name":"' .. name .. '","labels":{"n":"' .. counter .. '"}'
  if rv then meta = meta .. ',"resourceVersion":"' .. rv .. '"' end
  return '{"metadata":{' .. meta .. '},"spec":{"ports":[{"port":80}]}}'
end
request = function()
  return wrk.format("PUT", "/api/v1/namespaces/bench/services/" .. name,
                    {["Content-Type"] = "application/json"}, body())
end
response = function(status, headers, b)
  local v = string.match(b, '"resourceVersion":"(%d+)"')
  if v then rv = v end
end
