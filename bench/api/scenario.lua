-- wrk script for every API scenario; bench/api/bench.py sets the environment:
--   BENCH_SCENARIO  constant | health | balance | earn | event | events_batch
--   BENCH_TOKENS    file with one access token per line; thread t of n uses tokens t, t+n, ...
--                   in turn, so every request of a thread goes to a distinct player until the
--                   slice wraps (one line = one hot wallet)
--   BENCH_AMOUNT    earn amount (the ledger check multiplies it by the 200 count)
--   BENCH_THREADS   wrk's -t, to split the tokens between threads
-- done() prints one line "BENCHJSON {...}" with throughput, latency percentiles and errors.

local scenario = os.getenv("BENCH_SCENARIO") or "constant"
local tokens_file = os.getenv("BENCH_TOKENS")
local amount = tonumber(os.getenv("BENCH_AMOUNT") or "1")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "2")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local function read_tokens()
  local all = {}
  if tokens_file then
    for line in io.lines(tokens_file) do
      if #line > 0 then table.insert(all, line) end
    end
  end
  return all
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%012x",
    math.random(0, 0xffffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    math.random(0, 0x3fff) + 0x8000, math.random(0, 0xffffffffffff))
end

function init(args)
  ok = 0
  statuses = {}
  local all = read_tokens()
  mine = {}
  for i, token in ipairs(all) do
    if #all == 1 or ((i - 1) % thread_count) == id then table.insert(mine, token) end
  end
  next_index = 1
  math.randomseed(os.time() + id * 7919)
  stamp = os.date("!%Y-%m-%dT%H:%M:%SZ")
end

local function next_token()
  local token = mine[next_index]
  next_index = next_index + 1
  if next_index > #mine then next_index = 1 end
  return token
end

local earn_body = string.format('{"amount": %d, "reason": "bench_earn"}', amount)

function request()
  if scenario == "constant" then
    return wrk.format("GET", "/bench/constant")
  elseif scenario == "health" then
    return wrk.format("GET", "/health")
  end
  local headers = { ["Authorization"] = "Bearer " .. next_token() }
  if scenario == "balance" then
    return wrk.format("GET", "/balance", headers)
  elseif scenario == "earn" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/earn", headers, earn_body)
  elseif scenario == "event" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/event", headers, string.format(
      '{"eventType": "level_complete", "meta": {"level": %d, "score": %d}}',
      math.random(1, 200), math.random(0, 100000)))
  elseif scenario == "events_batch" then
    headers["Content-Type"] = "application/json"
    local events = {}
    for i = 1, 100 do
      events[i] = string.format(
        '{"eventId": "%s", "eventType": "level_complete", "timestampUtc": "%s", '
        .. '"meta": {"level": %d, "score": %d}}',
        uuid4(), stamp, i, math.random(0, 100000))
    end
    return wrk.format("POST", "/events/batch", headers,
      '{"events": [' .. table.concat(events, ",") .. "]}")
  end
  error("unknown BENCH_SCENARIO " .. scenario)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 end
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total_ok = 0
  local status_parts = {}
  local merged = {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    local st = thread:get("statuses") or {}
    for code, count in pairs(st) do merged[code] = (merged[code] or 0) + count end
  end
  for code, count in pairs(merged) do
    table.insert(status_parts, string.format('"%d": %d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "ok": %d, "statuses": {%s}, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}}\n',
    summary.requests, summary.duration, total_ok, table.concat(status_parts, ", "),
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
