-- wrk script: POST the JSON file named by BODY with the bearer token TOKEN. With PORTS (ports of
-- 127.0.0.1, space-separated), wrk's threads are spread over those servers round-robin, so one
-- run (one latency histogram) loads several replicas; the URL's port is then only the first.
local f = assert(io.open(os.getenv("BODY"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

local addrs = nil
local threads = 0
function setup(thread)
  local ports = os.getenv("PORTS")
  if ports == nil or ports == "" then return end
  if addrs == nil then
    addrs = {}
    for port in string.gmatch(ports, "%d+") do
      table.insert(addrs, wrk.lookup("127.0.0.1", port)[1])
    end
  end
  thread.addr = addrs[threads % #addrs + 1]
  threads = threads + 1
end

local non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.2f rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
