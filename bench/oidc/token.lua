-- wrk script for bench/oidc/run.sh: every request is a token endpoint exchange of one code the
-- authorize row got (files $OIDC_CODES_DIR/codes-*.txt; thread N of $OIDC_THREADS takes every
-- Nth code, so none is sent twice): POST $OIDC_TOKEN_PATH with client_secret_basic
-- ($OIDC_BASIC), the redirect URI and the PKCE verifier. An exchange counts when the answer is
-- 200 with an id_token. When a thread has sent all its codes it stops (codes are single use).
-- Prints one ZTBENCH line (latencies in µs).
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

ok = 0
other = 0
local codes = {}
local next_code = 0
local headers

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local nthreads = tonumber(os.getenv("OIDC_THREADS"))
  local dir = os.getenv("OIDC_CODES_DIR")
  local i = 0
  for t = 0, nthreads - 1 do
    local f = io.open(dir .. "/codes-" .. t .. ".txt", "r")
    if f then
      for line in f:lines() do
        if i % nthreads == tid then
          codes[#codes + 1] = line
        end
        i = i + 1
      end
      f:close()
    end
  end
  headers = {
    ["Host"] = os.getenv("OIDC_HOST"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. os.getenv("OIDC_BASIC"),
  }
  suffix = "&redirect_uri=" .. urlencode(os.getenv("OIDC_REDIRECT_URI")) ..
    "&code_verifier=" .. os.getenv("OIDC_VERIFIER")
end

function request()
  next_code = next_code + 1
  if next_code > #codes then
    -- out of codes: stop; what goes out meanwhile is a discovery GET, not counted
    wrk.thread:stop()
    return wrk.format("GET", "/.well-known/openid-configuration", {["Host"] = headers["Host"]})
  end
  local body = "grant_type=authorization_code&code=" .. codes[next_code] .. suffix
  return wrk.format("POST", os.getenv("OIDC_TOKEN_PATH"), headers, body)
end

function response(status, headers, body)
  if status == 200 and body:find('"id_token"', 1, true) then
    ok = ok + 1
  elseif status == 200 and body:find('"issuer"', 1, true) then
    -- the discovery GET sent after the last code: not an exchange
  else
    other = other + 1
    if other == 1 then
      io.stderr:write("token.lua: unexpected answer ", status, " ", body:sub(1, 200), "\n")
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
