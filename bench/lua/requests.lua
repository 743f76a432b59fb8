-- wrk script: send a fixed list of whole requests in turn, each with its own path and body.
-- Argument after `--`: FILE, one request per line: METHOD <TAB> PATH [<TAB> BODY] (BODY one line of JSON).
-- Request i is line i mod #lines, so a path and the body that must match it (run_id/phase_id) always go
-- together. wrk's -H headers (e.g. Authorization) go on every request. Prints one BENCH_RESULT line, with
-- the 4xx and 5xx answers counted apart (wrk's own "status" error counts every non-2xx/3xx answer).

local requests = {}
local counter = 0
local threads = {}
s4xx, s5xx = 0, 0

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if method then
      local headers = {}
      for k, v in pairs(wrk.headers) do headers[k] = v end
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
  end
  if #requests == 0 then error("no requests in " .. tostring(args[1])) end
end

function request()
  counter = counter + 1
  return requests[((counter - 1) % #requests) + 1]
end

function response(status, headers, body)
  if status >= 500 then
    s5xx = s5xx + 1
  elseif status >= 400 then
    s4xx = s4xx + 1
  end
end

function done(summary, latency, requests_)
  local e = summary.errors
  local c4, c5 = 0, 0
  for _, thread in ipairs(threads) do
    c4 = c4 + (thread:get("s4xx") or 0)
    c5 = c5 + (thread:get("s5xx") or 0)
  end
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"status_4xx":%d,"status_5xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, c4, c5))
end
