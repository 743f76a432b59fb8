-- wrk script: cycle through fixed requests and print one machine-readable result line.
-- Arguments after `--`: METHOD NBODIES BODY... PATH...
-- Request i goes to PATH[i mod #paths] with BODY[(i div #paths) mod #bodies], so with
-- update_status every phase is visited in turn and alternates between the states given.

local requests = {}
local counter = 0

function init(args)
  local method = args[1]
  local nbodies = tonumber(args[2])
  local bodies, paths = {}, {}
  for i = 1, nbodies do bodies[i] = args[2 + i] end
  for i = 3 + nbodies, #args do paths[#paths + 1] = args[i] end
  local headers = {}
  if nbodies > 0 then headers["Content-Type"] = "application/json" end
  for b = 1, math.max(nbodies, 1) do
    for p = 1, #paths do
      requests[#requests + 1] = wrk.format(method, paths[p], headers, bodies[b])
    end
  end
end

function request()
  counter = counter + 1
  return requests[((counter - 1) % #requests) + 1]
end

function done(summary, latency, requests_)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
