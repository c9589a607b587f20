-- DELETE the pre-created Services d-0 ... d-N in turn (each wrk thread its own stride).
-- offset is a global: thread:set() writes the thread's globals, which a local would shadow.
local counter = 0
local stride = 1
offset = 0
local threads = {}
function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end
init = function(args) stride = tonumber(args[1]) or 1 end
request = function()
  local i = offset + counter * stride
  counter = counter + 1
  return wrk.format("DELETE", "/api/v1/namespaces/bench/services/d-" .. i)
end
