-- wrk script for the bearer-API test of benchmarks/bench.py: one fixed request, every response checked.
-- Env: WRK_METHOD (GET|POST, default GET), WRK_BODY, WRK_CONTENT_TYPE, WRK_BEARER (token, optional),
--      WRK_EXPECT (substring every 200 body must contain; empty = status only).
-- Prints "bad_responses=N" at the end (non-200 or body without WRK_EXPECT). Use -t1 or more threads.
-- Example:
--   WRK_METHOD=POST WRK_BODY='{"query":"{ account { name } }"}' WRK_CONTENT_TYPE=application/json \
--   WRK_BEARER=oca_... wrk -t1 -c16 -d10s --latency -s request_wrk.lua http://127.0.0.1:8000/v1/graphql
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body and body ~= "" then wrk.body = body end
local ctype = os.getenv("WRK_CONTENT_TYPE")
if ctype and ctype ~= "" then wrk.headers["Content-Type"] = ctype end
local bearer = os.getenv("WRK_BEARER")
if bearer and bearer ~= "" then wrk.headers["Authorization"] = "Bearer " .. bearer end
wrk.headers["Accept"] = "application/json"

function init(args)
  bad = 0
  expect = os.getenv("WRK_EXPECT")
  if expect == "" then expect = nil end
end

function response(status, headers, resp_body)
  if status ~= 200 or (expect and not string.find(resp_body, expect, 1, true)) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("bad") or 0) end
  io.write(string.format("bad_responses=%d\n", total))
end
