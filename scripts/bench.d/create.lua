-- POST a new selectorless ClusterIP Service per request; names unique per wrk thread.
local counter = 0
-- tid: unique per wrk thread and per run (math.random is unseeded, so the same in every run).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", os.time() .. "x" .. threads)
end
request = function()
  counter = counter + 1
  local body = '{"metadata":{"name":"c' .. tid .. '-' .. counter .. '"},"spec":{"ports":[{"port":80}]}}'
  return wrk.format("POST", "/api/v1/namespaces/bench/services",
                    {["Content-Type"] = "application/json"}, body)
end
