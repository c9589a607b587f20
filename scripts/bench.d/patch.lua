-- A strategic merge patch of a label on one Service.
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"metadata":{"labels":{"n":"' .. counter .. '"}}}'
  return wrk.format("PATCH", "/api/v1/namespaces/bench/services/patched",
                    {["Content-Type"] = "application/strategic-merge-patch+json"}, body)
end
