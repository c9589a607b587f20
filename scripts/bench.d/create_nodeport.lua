-- POST a new NodePort Service per request (a nodePort allocated each time; the range is sized
-- by the script so that it does not run out).
local counter = 0
-- tid: unique per wrk thread and per run (math.random is unseeded, so the same in every run).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", os.time() .. "x" .. threads)
end
request = function()
  counter = counter + 1
  local body = '{"metadata":{"name":"n' .. tid .. '-' .. counter .. '"},"spec":{"type":"NodePort","ports":[{"port":80}]}}'
  return wrk.format("POST", "/api/v1/namespaces/bench/services",
                    {["Content-Type"] = "application/json"}, body)
end
