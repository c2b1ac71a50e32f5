-- One wrk script for every scenario of bench/bench.py; BENCH_MODE picks what each request is.
--   get      GET of the URL's path, with `Authorization: Bearer $BENCH_BEARER` when set
--   login    POST /api/v1/auth/login, cycling through the e-mails in $BENCH_DATA
--   refresh  POST /api/v1/auth/token/refresh, one chain per thread (run with -c equal to -t):
--            line N of $BENCH_DATA starts thread N's chain, each answer's refresh_token is the next
--   totp     POST /api/v1/auth/mfa/verify: a fresh mfa_token per request from $BENCH_DATA and the
--            code of the current 30-second step from $BENCH_CODES ("step code" lines)
--   backup   POST /api/v1/auth/mfa/verify with "mfa_token<TAB>backup_code" lines of $BENCH_DATA
--   form     POST of the URL's path with the form body $BENCH_BODY (application/x-www-form-urlencoded)
--            and `Authorization: Basic $BENCH_BASIC` (OAuth client authentication)
-- $BENCH_EXPECT, when set, is a string every 2xx answer's body must contain; the 2xx answers
-- without it are counted as `unexpected` (e.g. an introspection answering `"active":false`).
-- $BENCH_DELAY_MS paces each connection (the isolation scenario's second client).
-- done() prints one line `BENCH_RESULT {json}` with counts by status class and latency percentiles.

local mode = os.getenv("BENCH_MODE") or "get"
local data_file = os.getenv("BENCH_DATA")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local tenant = os.getenv("BENCH_TENANT") or "bench"
local password = os.getenv("BENCH_PASSWORD") or ""
local bearer = os.getenv("BENCH_BEARER")
local basic = os.getenv("BENCH_BASIC")
local form_body = os.getenv("BENCH_BODY") or ""
local expect = os.getenv("BENCH_EXPECT")
if expect == "" then expect = nil end

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local function read_lines(path)
   local lines = {}
   if path == nil then return lines end
   local f = io.open(path, "r")
   if f == nil then return lines end
   for line in f:lines() do
      if line ~= "" then table.insert(lines, line) end
   end
   f:close()
   return lines
end

local items = {}
local next_item = 1
local codes = {}
local chain_token = nil
local form_request = nil
n2xx, n4xx, n5xx, nother, exhausted, chain_broken, unexpected = 0, 0, 0, 0, 0, 0, 0

function init(args)
   -- `id` was set by setup(); the number of threads comes from the driver.
   local all = read_lines(data_file)
   local total = tonumber(os.getenv("BENCH_THREADS") or "1")
   if mode == "refresh" then
      chain_token = all[id]
   elseif mode == "login" then
      items = all
      next_item = id
   else
      -- Disjoint shares: thread k takes lines k, k + total, k + 2 * total, ...
      for i = id, #all, total do table.insert(items, all[i]) end
   end
   if mode == "totp" then
      for _, line in ipairs(read_lines(os.getenv("BENCH_CODES"))) do
         local step, code = line:match("^(%d+) (%d+)$")
         if step then codes[tonumber(step)] = code end
      end
   end
   if bearer and bearer ~= "" then
      wrk.headers["Authorization"] = "Bearer " .. bearer
   end
   wrk.headers["User-Agent"] = "wrk (cloudcx-bench)"
   if mode == "form" then
      -- The same request every time: formatted once.
      local headers = { ["Content-Type"] = "application/x-www-form-urlencoded",
         ["User-Agent"] = "wrk (cloudcx-bench)" }
      if basic and basic ~= "" then headers["Authorization"] = "Basic " .. basic end
      form_request = wrk.format("POST", nil, headers, form_body)
   end
end

local function post(path, body)
   return wrk.format("POST", path, { ["Content-Type"] = "application/json",
      ["User-Agent"] = "wrk (cloudcx-bench)" }, body)
end

local function take()
   local item = items[next_item]
   if item == nil then
      exhausted = 1
      wrk.thread:stop()
      return items[#items]
   end
   next_item = next_item + 1
   return item
end

function request()
   if mode == "login" then
      local email = items[next_item]
      next_item = next_item + tonumber(os.getenv("BENCH_THREADS") or "1")
      if next_item > #items then next_item = next_item - #items end
      return post("/api/v1/auth/login", string.format(
         '{"tenant":"%s","email":"%s","password":"%s","token_delivery":"body"}', tenant, email, password))
   elseif mode == "refresh" then
      return post("/api/v1/auth/token/refresh", string.format(
         '{"refresh_token":"%s","token_delivery":"body"}', chain_token or ""))
   elseif mode == "totp" then
      local token = take()
      local code = codes[math.floor(os.time() / 30)] or "000000"
      return post("/api/v1/auth/mfa/verify", string.format(
         '{"mfa_token":"%s","code":"%s","token_delivery":"body"}', token or "", code))
   elseif mode == "form" then
      return form_request
   elseif mode == "backup" then
      local line = take() or ""
      local token, code = line:match("^([^\t]+)\t(.+)$")
      return post("/api/v1/auth/mfa/verify", string.format(
         '{"mfa_token":"%s","backup_code":"%s","token_delivery":"body"}', token or "", code or ""))
   end
   return wrk.format("GET")
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      n2xx = n2xx + 1
      if expect and not (body and body:find(expect, 1, true)) then unexpected = unexpected + 1 end
   elseif status >= 400 and status < 500 then
      n4xx = n4xx + 1
   elseif status >= 500 then
      n5xx = n5xx + 1
   else
      nother = nother + 1
   end
   if mode == "refresh" then
      local token = status == 200 and body:match('"refresh_token":"([^"]+)"')
      if token then chain_token = token else chain_broken = 1 end
   end
end

if delay_ms > 0 then
   function delay()
      return delay_ms
   end
end

function done(summary, latency, requests)
   local s = { n2xx = 0, n4xx = 0, n5xx = 0, nother = 0, exhausted = 0, chain_broken = 0, unexpected = 0 }
   for _, t in ipairs(threads) do
      for k, _ in pairs(s) do s[k] = s[k] + (t:get(k) or 0) end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,' ..
      '"n2xx":%d,"n4xx":%d,"n5xx":%d,"nother":%d,"exhausted":%d,"chain_broken":%d,"unexpected":%d,' ..
      '"lat_mean_us":%.1f,"lat_max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      s.n2xx, s.n4xx, s.n5xx, s.nother, s.exhausted, s.chain_broken, s.unexpected,
      latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
