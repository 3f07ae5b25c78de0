-- wrk script of the telemetry benchmark (bench/telemetry/run.py sets the environment):
--   TELEMETRY_SCENARIO  batch (POST /events/batch, 100 events) | single (POST /event) | constant
--   TELEMETRY_TOKENS    file with one access token per line; thread t of n uses tokens t, t+n, ...
--   TELEMETRY_THREADS   wrk's -t
-- Every event has a fresh eventId, so the duplicate check runs on every item.
-- done() prints one line "BENCHJSON {...}".

local scenario = os.getenv("TELEMETRY_SCENARIO") or "constant"
local tokens_file = os.getenv("TELEMETRY_TOKENS")
local thread_count = tonumber(os.getenv("TELEMETRY_THREADS") or "2")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%012x",
    math.random(0, 0xffffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    math.random(0, 0x3fff) + 0x8000, math.random(0, 0xffffffffffff))
end

local types = {"session_start", "level_start", "level_complete", "ad_view", "purchase"}

function init(args)
  ok = 0
  statuses = {}
  mine = {}
  local index = 0
  if tokens_file then
    for line in io.lines(tokens_file) do
      if #line > 0 then
        if index % thread_count == id then table.insert(mine, line) end
        index = index + 1
      end
    end
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

local function event_json(i)
  return string.format(
    '{"eventId":"%s","eventType":"%s","timestampUtc":"%s","meta":{"level":%d,"score":%d}}',
    uuid4(), types[1 + (i % #types)], stamp, i, math.random(0, 100000))
end

function request()
  if scenario == "constant" then
    return wrk.format("GET", "/bench/constant")
  end
  local headers = {
    ["Authorization"] = "Bearer " .. next_token(),
    ["Content-Type"] = "application/json",
  }
  if scenario == "single" then
    return wrk.format("POST", "/event", headers, event_json(math.random(0, 99)))
  end
  local events = {}
  for i = 1, 100 do events[i] = event_json(i) end
  return wrk.format("POST", "/events/batch", headers,
    '{"events":[' .. table.concat(events, ",") .. "]}")
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 end
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total_ok = 0
  local merged = {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    for code, count in pairs(thread:get("statuses") or {}) do
      merged[code] = (merged[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "ok": %d, "statuses": {%s}, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"socket_errors": %d}\n',
    summary.requests, summary.duration, total_ok, table.concat(parts, ", "),
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout))
end
