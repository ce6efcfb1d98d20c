-- wrk script: after the run, print one machine-readable line with exact percentiles (µs).
-- bench/run.sh parses the line that starts with "ZTBENCH".
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "ZTBENCH requests=%d secs=%.3f rps=%.1f p50=%d p90=%d p99=%d p999=%d max=%d " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
