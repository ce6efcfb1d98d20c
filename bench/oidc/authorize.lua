-- wrk script for bench/oidc/run.sh: every request is an authorize with the signed-in browser's
-- session cookie (GET $OIDC_AUTH_PATH, Host $OIDC_HOST, Cookie $OIDC_COOKIE); the OP answers a
-- redirect to the RP with a fresh code. A round trip counts when the answer is a 302/303 whose
-- Location carries code=; the codes are kept (one file per thread under $OIDC_CODES_DIR) for
-- the token row, which redeems each once. Prints one ZTBENCH line (latencies in µs).
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

ok = 0
other = 0
local req
local out

function init(args)
  req = wrk.format("GET", os.getenv("OIDC_AUTH_PATH"), {
    ["Host"] = os.getenv("OIDC_HOST"),
    ["Cookie"] = os.getenv("OIDC_COOKIE"),
  })
  local dir = os.getenv("OIDC_CODES_DIR")
  if dir and dir ~= "" then
    out = assert(io.open(dir .. "/codes-" .. tid .. ".txt", "w"))
    out:setvbuf("line")
  end
end

function request()
  return req
end

function response(status, headers, body)
  local loc = headers["Location"] or headers["location"]
  local code = loc and loc:match("[?&]code=([^&]+)")
  if (status == 302 or status == 303) and code then
    ok = ok + 1
    if out then
      out:write(code, "\n")
    end
  else
    other = other + 1
    if other == 1 then
      io.stderr:write("authorize.lua: unexpected answer ", status, " ", tostring(loc), "\n")
    end
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
    "ZTBENCH requests=%d secs=%.3f ok=%d other=%d okps=%.1f p50=%d p99=%d max=%d " ..
    "connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, secs, good, bad, good / secs, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout))
end
