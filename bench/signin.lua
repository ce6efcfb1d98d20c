-- wrk script for bench/signin.sh: every request is a sign-in (POST /.ztgate/login) with valid
-- credentials. Users and their pre-fetched CSRF cookie + token pairs come from the file named by
-- $SIGNIN_CREDS, one per line: email<TAB>password<TAB>csrf cookie<TAB>csrf token. Each thread
-- starts at a different line and rotates through them. The Host header is $SIGNIN_HOST.
--
-- A sign-in succeeds with 303 (and a session cookie); the failure page is a 200, so wrk's own
-- error count cannot tell them apart: this script counts 303s itself. After the run it prints one
-- line that bench/signin.sh parses:
--   ZTBENCH requests=… secs=… rps=… ok=… other=… p50=… p90=… p99=… p999=… max=… (µs) + errors

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local reqs = {}
local n = 0
ok = 0
other = 0

function init(args)
  local host = os.getenv("SIGNIN_HOST") or "bench.test"
  for line in io.lines(os.getenv("SIGNIN_CREDS")) do
    local user, pw, cookie, token = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
    if user then
      local body = "username=" .. urlencode(user) .. "&password=" .. urlencode(pw) ..
        "&csrf_token=" .. token
      reqs[#reqs + 1] = wrk.format("POST", "/.ztgate/login", {
        ["Host"] = host,
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["Cookie"] = "ztgate_csrf=" .. cookie,
      }, body)
    end
  end
  if #reqs == 0 then
    error("signin.lua: no credentials in $SIGNIN_CREDS")
  end
  n = (tid or 0) * 7
end

function request()
  n = n + 1
  return reqs[(n % #reqs) + 1]
end

function response(status, headers, body)
  if status == 303 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local good, bad = 0, 0
  for _, t in ipairs(threads) do
    good = good + (t:get("ok") or 0)
    bad = bad + (t:get("other") or 0)
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "ZTBENCH requests=%d secs=%.3f rps=%.2f ok=%d other=%d okps=%.2f p50=%d p90=%d p99=%d " ..
    "p999=%d max=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, secs, summary.requests / secs, good, bad, good / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
