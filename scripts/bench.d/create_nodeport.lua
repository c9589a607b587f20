-- POST a new NodePort Service per request (a nodePort allocated each time; the range is sized
-- by the script so that it does not run out).
local counter = 0
function setup(thread) thread:set("tid", math.random(1, 1000000000)) end
request = function()
  counter = counter + 1
  local body = '{"metadata":{"name":"n' .. tid .. '-' .. counter .. '"},"spec":{"type":"NodePort","ports":[{"port":80}]}}'
  return wrk.format("POST", "/api/v1/namespaces/bench/services",
                    {["Content-Type"] = "application/json"}, body)
end
