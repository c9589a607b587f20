-- POST a new selectorless ClusterIP Service per request; names unique per wrk thread.
local counter = 0
function setup(thread) thread:set("tid", math.random(1, 1000000000)) end
request = function()
  counter = counter + 1
  local body = '{"metadata":{"name":"c' .. tid .. '-' .. counter .. '"},"spec":{"ports":[{"port":80}]}}'
  return wrk.format("POST", "/api/v1/namespaces/bench/services",
                    {["Content-Type"] = "application/json"}, body)
end
